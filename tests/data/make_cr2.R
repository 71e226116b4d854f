# CR2 covariances and Bell–McCaffrey degrees of freedom of real-only fits on the
# labeled rows of cluster_T600.csv, from R's estimatr (lm_robust, se_type = "CR2",
# the package's default with clusters) and clubSandwich (vcovCR type "CR2",
# coef_test "Satterthwaite") for logistic regression.
#
#   Rscript tests/data/make_cr2.R   # writes tests/data/cr2.expected.json
#
# Weighted fits use w = 1 + 0.5 |x2| (the test computes the same weights). The crate
# works in the transformed model (√w x, √w e), as its HC2 and statsmodels' WLS do: the
# CR2 adjustment (I − H_gg)^(−1/2) and the working model of the degrees of freedom
# (homoskedastic transformed errors) come from the weighted hat matrix. estimatr and
# clubSandwich's default take a working model homoskedastic in the untransformed
# errors instead, and differ from it by about 0.1% on these data; `manual` below
# computes the crate's convention directly, with n × n matrices, and is the
# reference for weighted fits (estimatr's values are kept beside it). Logistic
# regression likewise: the crate's CR2 is that of the IRLS working regression
# (√(μ(1 − μ)) x, (y − μ)/√(μ(1 − μ))) at the maximum-likelihood fit, computed by
# `manual`; clubSandwich's glm method (kept beside it) differs by about 1e-4.
suppressPackageStartupMessages({
  library(estimatr)
  library(clubSandwich)
  library(jsonlite)
})
here <- "tests/data"
d <- read.csv(file.path(here, "cluster_T600.csv"))
lab <- d[d$labeled == 1, ]
lab$w <- 1 + 0.5 * abs(lab$x2)
lab$yb <- as.numeric(lab$y > 1)

ols <- function(weighted) {
  fit <- if (weighted) {
    lm_robust(y ~ x1 + x2, data = lab, clusters = cluster, se_type = "CR2", weights = w)
  } else {
    lm_robust(y ~ x1 + x2, data = lab, clusters = cluster, se_type = "CR2")
  }
  list(theta = unname(coef(fit)), cov = unname(vcov(fit)), df = unname(fit$df))
}

# CR2 and Bell–McCaffrey degrees of freedom from n × n matrices: X the (transformed)
# working design, e the (transformed) working residuals.
manual <- function(X, e, cluster) {
  M <- solve(crossprod(X))
  n <- nrow(X)
  IH <- diag(n) - X %*% M %*% t(X)
  groups <- unique(cluster)
  meat <- 0
  U <- list()
  for (g in groups) {
    i <- which(cluster == g)
    Xg <- X[i, , drop = FALSE]
    ev <- eigen(IH[i, i, drop = FALSE], symmetric = TRUE)
    B <- ev$vectors %*% diag(1 / sqrt(ev$values), length(i)) %*% t(ev$vectors)
    s <- t(Xg) %*% B %*% e[i]
    meat <- meat + s %*% t(s)
    U[[g]] <- list(i = i, BX = B %*% Xg)
  }
  df <- sapply(seq_len(ncol(X)), function(j) {
    Q <- sapply(groups, function(g) {
      q <- numeric(n)
      q[U[[g]]$i] <- U[[g]]$BX %*% M[, j]
      IH %*% q
    })
    QtQ <- crossprod(Q)
    sum(diag(QtQ))^2 / sum(QtQ * QtQ)
  })
  list(cov = unname(M %*% meat %*% M), df = df)
}

ols_manual <- function() {
  fit <- lm(y ~ x1 + x2, data = lab, weights = w)
  X <- cbind(1, lab$x1, lab$x2) * sqrt(lab$w)
  e <- residuals(fit) * sqrt(lab$w)
  c(list(theta = unname(coef(fit))), manual(X, e, lab$cluster))
}

logistic_manual <- function() {
  fit <- glm(yb ~ x1 + x2, data = lab, family = binomial(), control = glm.control(epsilon = 1e-14, maxit = 100))
  mu <- fitted(fit)
  v <- mu * (1 - mu)
  X <- cbind(1, lab$x1, lab$x2) * sqrt(v)
  e <- (lab$yb - mu) / sqrt(v)
  c(list(theta = unname(coef(fit))), manual(X, e, lab$cluster))
}

logistic <- function() {
  fit <- glm(yb ~ x1 + x2, data = lab, family = binomial(), control = glm.control(epsilon = 1e-14, maxit = 100))
  v <- vcovCR(fit, cluster = lab$cluster, type = "CR2")
  test <- coef_test(fit, vcov = v, test = "Satterthwaite")
  list(theta = unname(coef(fit)), cov = unname(as.matrix(v)), df = unname(test$df_Satt))
}

# The n × n computation reproduces estimatr on the unweighted fit.
check <- manual(cbind(1, lab$x1, lab$x2), residuals(lm(y ~ x1 + x2, data = lab)), lab$cluster)
stopifnot(isTRUE(all.equal(check$df, ols(FALSE)$df, tolerance = 1e-10)))
stopifnot(isTRUE(all.equal(check$cov, ols(FALSE)$cov, tolerance = 1e-10)))

out <- list(
  clusters = length(unique(lab$cluster)),
  ols = ols(FALSE),
  ols_weighted = ols_manual(),
  ols_weighted_estimatr = ols(TRUE),
  logistic = logistic_manual(),
  logistic_clubsandwich = logistic()
)
write(toJSON(out, digits = 17, auto_unbox = TRUE, pretty = TRUE), file.path(here, "cr2.expected.json"))

# With no source (M = 0) the estimators reduce to least squares on the labeled rows:
# equal to estimatr's lm_robust and sandwich's vcovHC / vcovCL to 1e-8.

labeled_rows <- function() {
  d <- reference("cluster_T600")$data
  list(all = d, lab = d[d$labeled == 1, ])
}

test_that("real-only with HC0 and HC2 equals lm_robust", {
  skip_if_not_installed("estimatr")
  d <- labeled_rows()
  for (type in c("HC0", "HC2")) {
    fit <- synthgmm(y ~ x1 + x2, d$all, labeled = "labeled", estimator = "real-only",
                    small_sample = tolower(type))
    ref <- estimatr::lm_robust(y ~ x1 + x2, d$lab, se_type = type)
    expect_close(coef(fit), coef(ref), 1e-10)
    expect_close(vcov(fit), vcov(ref), 1e-8)
    if (type == "HC2") {
      # HC2 and HC3 take t(n - p) quantiles, as lm_robust does.
      expect_equal(fit$df, rep(ref$df[[1]], 3))
      expect_close(confint(fit), confint(ref), 1e-8)
      expect_close(fit$p_value, ref$p.value, 1e-6, floor = 1e-300)
    } else {
      # HC0 is the asymptotic form (normal quantiles, ppi_py's convention).
      expect_true(all(is.infinite(fit$df)))
    }
  }
})

test_that("real-only with HC1 and HC3 equals sandwich::vcovHC", {
  skip_if_not_installed("sandwich")
  d <- labeled_rows()
  ols <- stats::lm(y ~ x1 + x2, d$lab)
  for (type in c("HC1", "HC3")) {
    fit <- synthgmm(y ~ x1 + x2, d$all, labeled = "labeled", estimator = "real-only",
                    small_sample = tolower(type))
    expect_close(vcov(fit), sandwich::vcovHC(ols, type = type), 1e-8)
  }
})

test_that("clustered HC2-BM is estimatr's CR2 with Bell-McCaffrey degrees of freedom", {
  skip_if_not_installed("estimatr")
  d <- labeled_rows()
  fit <- synthgmm(y ~ x1 + x2, d$all, labeled = "labeled", estimator = "real-only",
                  clusters = ~ cluster)
  ref <- estimatr::lm_robust(y ~ x1 + x2, d$lab, clusters = cluster, se_type = "CR2")
  expect_close(vcov(fit), vcov(ref), 1e-8)
  expect_close(fit$df, ref$df, 1e-8)
  expect_close(confint(fit), confint(ref), 1e-8)
})

test_that("clustered HC0 is CR0 times G / (G - 1), with t(G - 1) from HC1 on", {
  skip_if_not_installed("estimatr")
  d <- labeled_rows()
  ref <- estimatr::lm_robust(y ~ x1 + x2, d$lab, clusters = cluster, se_type = "CR0")
  g <- length(unique(d$lab$cluster))
  for (small in c("hc0", "hc1")) {
    fit <- synthgmm(y ~ x1 + x2, d$all, labeled = "labeled", estimator = "real-only",
                    clusters = "cluster", small_sample = small)
    expect_close(vcov(fit), vcov(ref) * g / (g - 1), 1e-8)
  }
  expect_equal(fit$df, rep(g - 1, 3))
  expect_equal(ref$df[[1]], g - 1)
})

test_that("factors, interactions and transformations go through model.matrix", {
  skip_if_not_installed("estimatr")
  set.seed(3)
  n <- 400
  d <- data.frame(x = rnorm(n), z = rexp(n) + 0.5,
                  g = factor(sample(c("a", "b", "c"), n, TRUE)))
  d$y <- 1 + d$x - 0.5 * (d$g == "b") + 0.3 * log(d$z) + d$x * (d$g == "c") + rnorm(n)
  d$labeled <- seq_len(n) <= 150
  d$y[!d$labeled] <- NA
  fit <- synthgmm(y ~ x * g + log(z), d, estimator = "real-only", small_sample = "hc2")
  ref <- estimatr::lm_robust(y ~ x * g + log(z), d[d$labeled, ], se_type = "HC2")
  expect_equal(names(coef(fit)), names(coef(ref)))
  expect_close(coef(fit), coef(ref), 1e-10)
  expect_close(vcov(fit), vcov(ref), 1e-8)
  expect_equal(nobs(fit), 150L)
})

# The generics read the core's numbers: nothing here recomputes an estimate.

fitted_pair <- function(level = 0.95, ...) {
  d <- reference("ols_T3000_n300_rho7")$data
  synthgmm(y ~ x1 + x2, d, labeled = "labeled", sources = list(proxy = "proxy_y"),
           level = level, ...)
}

test_that("coef, vcov, confint, nobs, tidy and glance agree with the fit", {
  fit <- fitted_pair()
  expect_equal(names(coef(fit)), c("(Intercept)", "x1", "x2"))
  expect_equal(sqrt(diag(vcov(fit))), setNames(fit$std_error, fit$names))
  expect_equal(nobs(fit), 300L)
  tidied <- tidy.synthgmm(fit)
  expect_equal(tidied$term, fit$names)
  expect_equal(tidied$estimate, unname(coef(fit)))
  expect_equal(as.matrix(tidied[, c("conf.low", "conf.high")]), unname(confint(fit)),
               ignore_attr = TRUE)
  glanced <- glance.synthgmm(fit)
  expect_equal(glanced$nobs, 300L)
  expect_equal(glanced$n_rows, 3000L)
  expect_equal(glanced$covariance, "selected-hc2-bm")
  expect_true(all(fit$effective_n > 300))
  expect_output(print(fit), "selected weights")
  expect_equal(confint(fit, "x1"), confint(fit)["x1", , drop = FALSE])
})

test_that("confint at another level equals the core's interval at that level", {
  at95 <- fitted_pair()
  at90 <- fitted_pair(level = 0.90)
  expect_close(confint(at95, level = 0.90), confint(at90), 1e-12)
})

test_that("the bootstrap is reproducible from its seed and close to the analytic se", {
  a <- fitted_pair(bootstrap = 199, seed = 7)
  b <- fitted_pair(bootstrap = 199, seed = 7)
  expect_identical(a$bootstrap$std_error, b$bootstrap$std_error)
  expect_equal(a$bootstrap$replicates, 199)
  # With 199 replicates a bootstrap se is within about 10% of its limit (the se of a
  # standard deviation from B draws is about 1/sqrt(2B) = 5% relative; 3 of them, with
  # room for the estimator's own small-sample difference).
  expect_true(all(abs(a$bootstrap$std_error / a$std_error - 1) < 0.2))
  expect_equal(dim(confint(a, type = "bootstrap")), c(3L, 2L))
  expect_error(confint(fitted_pair(), type = "bootstrap"), "no bootstrap")
})

test_that("compare() lines the estimators up and tidies them together", {
  d <- reference("ols_T3000_n300_rho7")$data
  cmp <- compare(y ~ x1 + x2, d, labeled = "labeled",
                 sources = list(proxy = "proxy_y", synth = synth_y ~ synth_x1 + synth_x2),
                 estimators = c("gmm", "real-only", "ppi"))
  expect_equal(length(cmp$fits), 3)
  expect_match(cmp$table, "Real-only")
  expect_match(cmp$table, "labeled n")
  # Effective labels against real-only, and the GMM's J test from its own fit.
  expect_match(cmp$table, "effective n")
  j <- cmp$fits[[1]]$j_test
  expect_match(cmp$table, sprintf("J \\(df\\) +%.2f \\(%d\\)", j[1], as.integer(j[2])))
  tidied <- tidy.synthgmm_comparison(cmp)
  expect_equal(nrow(tidied), 9)
  single <- synthgmm(y ~ x1 + x2, d, labeled = "labeled", estimator = "real-only")
  expect_identical(coef(cmp$fits[[2]]), coef(single))
})

test_that("plan() predicts smaller standard errors with more labels", {
  d <- reference("ols_T3000_n300_rho7")$data
  p <- plan(y ~ x1 + x2, d, labeled = "labeled", sources = list(proxy = "proxy_y"),
            n_labeled = c(100, 300, 900))
  expect_equal(dim(p$se), c(3L, 3L))
  expect_true(all(diff(p$se[, "x1"]) < 0))
  expect_equal(p$pilot, c(300, 3000))
  expect_output(print(p), "pilot of n = 300")
  real <- plan(y ~ x1 + x2, d, labeled = "labeled", sources = list(proxy = "proxy_y"),
               n_labeled = 300, estimator = "real-only")
  expect_true(all(p$se[2, ] < real$se[1, ]))
})

test_that("broom's generics dispatch to the methods when installed", {
  skip_if_not_installed("generics")
  fit <- fitted_pair()
  expect_equal(generics::tidy(fit), tidy.synthgmm(fit))
  expect_equal(generics::glance(fit), glance.synthgmm(fit))
})

test_that("a proportion's interval is on the logit scale, at any level", {
  # 4 positives among 50 labeled rows (every eighth of 400): Stata's `proportion`
  # interval, se = sqrt(p(1 - p)/(n - 1)) with t(n - 1) quantiles on the logit scale.
  n <- 50
  y <- rep(NA_real_, 400)
  y[seq(1, 400, by = 8)] <- c(1, 0, 0, 1, rep(0, 10), 1, rep(0, 20), 1, rep(0, 14))
  d <- data.frame(y = y, llm = as.numeric(seq_len(400) %% 9 == 0))
  fit <- synthgmm(y ~ 1, d, model = "mean", estimator = "real-only")
  p <- 4 / n
  se <- sqrt(p * (1 - p) / (n - 1))
  closed <- function(level) {
    spread <- stats::qt((1 + level) / 2, n - 1) * se / (p * (1 - p))
    stats::plogis(stats::qlogis(p) + c(-1, 1) * spread)
  }
  expect_equal(fit$interval_scale, "logit")
  expect_equal(unname(confint(fit)[1, ]), closed(0.95), tolerance = 1e-9)
  expect_equal(unname(confint(fit, level = 0.9)[1, ]), closed(0.9), tolerance = 1e-9)
  default <- synthgmm(y ~ 1, d, model = "mean", sources = list(llm = "llm"))
  bounds <- confint(default)
  expect_true(bounds[1, 1] > 0 && bounds[1, 2] < 1)
})

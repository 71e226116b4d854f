# Several outcomes: each fit as synthgmm() alone; Holm, Bonferroni and
# Benjamini-Hochberg across all coefficients equal R's p.adjust on the same p-values.

two_outcomes <- function() {
  d <- reference("ols_T3000_n300_rho7")$data
  d$y_b <- d$y - 0.5 * d$x1
  d$proxy_b <- d$proxy_y - 0.5 * d$x1
  d
}

fitted_outcomes <- function(...) {
  fit_outcomes(list(a = y ~ x1 + x2, b = y_b ~ x1 + x2), two_outcomes(),
               labeled = "labeled",
               sources = list(a = list(proxy = "proxy_y"), b = list(proxy = "proxy_b")), ...)
}

test_that("each outcome is its own fit and the adjustments equal p.adjust", {
  res <- fitted_outcomes()
  alone <- synthgmm(y_b ~ x1 + x2, two_outcomes(), labeled = "labeled",
                    sources = list(proxy = "proxy_b"))
  expect_equal(coef(res$fits$b), coef(alone))
  expect_equal(res$fits$b$std_error, alone$std_error)
  table <- res$table
  expect_equal(table$outcome, rep(c("a", "b"), each = 3))
  expect_equal(table$term, rep(c("(Intercept)", "x1", "x2"), 2))
  expect_equal(table$holm, stats::p.adjust(table$p.value, "holm"), tolerance = 1e-12)
  expect_equal(table$bonferroni, stats::p.adjust(table$p.value, "bonferroni"),
               tolerance = 1e-12)
  expect_equal(table$bh, stats::p.adjust(table$p.value, "BH"), tolerance = 1e-12)
  expect_true(all(table$single_step >= table$p.value - 1e-15))
  expect_true(all(table$single_step <= pmin(1, 6 * table$p.value) + 1e-15))
  # Simultaneous intervals contain each fit's own and are centred on the estimate.
  own <- rbind(confint(res$fits$a), confint(res$fits$b))
  expect_true(all(table$conf.low < own[, 1] & table$conf.high > own[, 2]))
  expect_equal((table$conf.low + table$conf.high) / 2, table$estimate, tolerance = 1e-12)
  expect_equal(res$from, "influence")
  expect_gt(res$critical_value, stats::qnorm(0.975))
  expect_output(print(res), "joint covariance")
  # PPI++ gives no influence: the bound, never below the joint covariance's value.
  ppi <- fitted_outcomes(estimator = "ppi")
  expect_equal(ppi$from, "bound")
  expect_output(print(ppi), "Gaussian correlation inequality")
})

test_that("the bootstrap gives the joint distribution when asked for", {
  res <- fitted_outcomes(bootstrap = 99, seed = 3)
  expect_equal(res$from, "bootstrap")
  expect_output(print(res), "bootstrap max")
})

test_that("outcomes off the same rows and malformed lists are errors", {
  d <- two_outcomes()
  d$y_b[which(d$labeled == 1)[1]] <- NA
  expect_error(fit_outcomes(list(a = y ~ x1, b = y_b ~ x1), d), class = "synthgmm_InvalidConfig")
  expect_error(fit_outcomes(list(y ~ x1), d, labeled = "labeled"),
               class = "synthgmm_InvalidConfig")
})

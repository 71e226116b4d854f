# The paper's estimator (identity first step, unrestricted weights, covariance
# re-estimated at the final estimate) against the values tests/data/make_*.py computed
# with a standalone numpy implementation, cross-checked with statsmodels' GMM: the same
# data and expected values as the Rust and Python reference tests.

paper <- function(name, model, sources) {
  ref <- reference(name)
  specs <- list(
    proxy = proxy_y ~ 0 + proxy_x0 + proxy_x1 + proxy_x2,
    synth = synth_y ~ 0 + synth_x0 + synth_x1 + synth_x2
  )
  fit <- synthgmm(y ~ 0 + x0 + x1 + x2, ref$data, labeled = "labeled", model = model,
                  sources = specs[sources], cross_weights = "unrestricted",
                  step_one = "identity", covariance = "reestimated")
  list(fit = fit, ref = ref)
}

cases <- list(gmm_synth = c("proxy", "synth"), gmm_proxy = "proxy", real_only = character())
designs <- list(ols_T3000_n300_rho7 = c("ols", 1e-8), ols_T1000_n100_rho0 = c("ols", 1e-8),
                logistic_T3000_n300_rho7 = c("logistic", 1e-6))

for (name in names(designs)) {
  for (key in names(cases)) {
    test_that(sprintf("the paper's estimator reproduces %s / %s", name, key), {
      model <- designs[[name]][1]
      tol <- as.numeric(designs[[name]][2])
      run <- paper(name, model, cases[[key]])
      fit <- run$fit
      exp <- run$ref$expected[[key]]
      expect_close(coef(fit), exp$theta, tol, floor = 1e-3)
      expect_close(sqrt(diag(vcov(fit))), exp$se, tol)
      expect_close(vcov(fit), exp$cov_theta, tol, floor = max(abs(exp$cov_theta)))
      expect_close(confint(fit), exp$ci_95, tol, floor = 1e-3)
      expect_close(confint(fit, level = 0.90), exp$ci_90, tol, floor = 1e-3)
      expect_equal(fit$j_test[2], exp$j_df)
      if (exp$j_df > 0) expect_close(fit$j_test[c(1, 3)], c(exp$j_stat, exp$j_pvalue), tol)
      expect_equal(nobs(fit), run$ref$expected$n_labeled)
      expect_equal(glance.synthgmm(fit)$n_rows, run$ref$expected$T)
    })
  }
}

test_that("a source given by its outcome column takes the real formula's right side", {
  ref <- reference("ols_T3000_n300_rho7")
  d <- ref$data
  d$proxy_on_real <- d$proxy_y
  by_name <- synthgmm(y ~ x1 + x2, d, labeled = "labeled", sources = list(proxy = "proxy_on_real"))
  by_formula <- synthgmm(y ~ x1 + x2, d, labeled = "labeled",
                         sources = list(proxy = proxy_on_real ~ x1 + x2))
  expect_identical(coef(by_name), coef(by_formula))
  expect_identical(vcov(by_name), vcov(by_formula))
  expect_equal(names(coef(by_name)), c("(Intercept)", "x1", "x2"))
})

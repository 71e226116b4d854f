# Fixed effects absorbed by the within transformation equal estimatr's lm_robust with
# `fixed_effects` (itself the regression with indicator columns), computed live.

panel <- function() {
  d <- reference("fixed_effects")$data
  list(all = d, lab = d[d$labeled == 1, ])
}

test_that("one- and two-way fixed effects equal lm_robust's CR2", {
  skip_if_not_installed("estimatr")
  d <- panel()
  for (effects in list(~firm, ~firm + period)) {
    fit <- synthgmm(y ~ x1 + x2, d$all, labeled = "labeled", estimator = "real-only",
                    fixed_effects = effects)
    ref <- estimatr::lm_robust(y ~ x1 + x2, d$lab, fixed_effects = !!effects,
                               clusters = firm, se_type = "CR2")
    expect_close(coef(fit), coef(ref), 1e-10)
    expect_close(vcov(fit), vcov(ref), 1e-8)
    expect_close(fit$df, ref$df, 1e-8)
  }
  # Column names and vectors give the same fit; the GMM with a source reports them.
  by_name <- synthgmm(y ~ x1 + x2, d$all, labeled = "labeled", estimator = "real-only",
                      fixed_effects = c("firm", "period"))
  by_vector <- synthgmm(y ~ x1 + x2, d$all, labeled = "labeled", estimator = "real-only",
                        fixed_effects = list(d$all$firm, d$all$period))
  expect_equal(coef(by_name), coef(by_vector))
  gmm <- synthgmm(y ~ x1 + x2, d$all, labeled = "labeled", sources = list(proxy = "proxy"),
                  fixed_effects = ~firm + period)
  expect_true(any(grepl("40 and 6 levels", gmm$notes)))
  expect_true(all(sqrt(diag(vcov(gmm))) < sqrt(diag(vcov(by_name)))))
})

test_that("fixed effects refuse a model that cannot absorb them", {
  d <- panel()
  d$all$b <- as.numeric(d$all$y > 0)
  expect_error(synthgmm(b ~ x1, d$all, labeled = "labeled", model = "logistic",
                        fixed_effects = ~firm),
               class = "synthgmm_FixedEffectsModel")
})

# Each class of the library's errors reaches R as a condition of class
# `synthgmm_<Kind>` (and `synthgmm_error`, `error`), with the library's message.

small <- function() {
  set.seed(11)
  n <- 120
  d <- data.frame(x1 = rnorm(n), x2 = rnorm(n))
  d$y <- 1 + d$x1 + rnorm(n)
  d$gpt_y <- d$y + rnorm(n, sd = 0.5)
  d$labeled <- seq_len(n) <= 40
  d$y[!d$labeled] <- NA
  d
}

expect_class <- function(expr, kind, pattern = NULL) {
  err <- tryCatch(expr, error = function(e) e)
  expect_s3_class(err, c(paste0("synthgmm_", kind), "synthgmm_error", "error"))
  if (!is.null(pattern)) expect_match(conditionMessage(err), pattern)
}

test_that("an unknown name is an InvalidConfig listing the accepted names", {
  d <- small()
  expect_class(synthgmm(y ~ x1, d, model = "olsx"), "InvalidConfig", "expected one of: ols")
  expect_class(synthgmm(y ~ x1, d, small_sample = "hc9"), "InvalidConfig", "hc2-bm")
  expect_class(synthgmm(y ~ x1, d, estimator = c("gmm", "ppi")), "InvalidConfig")
})

test_that("a column the data do not have is a MissingColumn", {
  d <- small()
  expect_class(synthgmm(y ~ nope, d), "MissingColumn")
  expect_class(synthgmm(y ~ x1, d, labeled = "nope"), "MissingColumn", "nope")
})

test_that("a missing covariate is NonFinite, its row counted from 1", {
  d <- small()
  d$x1[3] <- NA
  expect_class(synthgmm(y ~ x1, d), "NonFinite", "row 3$")
})

test_that("a logistic outcome outside [0, 1] is an InvalidValue, its row counted from 1", {
  d <- small()
  first <- which(d$labeled & (d$y < 0 | d$y > 1))[1]
  expect_class(synthgmm(y ~ x1, d, model = "logistic"), "InvalidValue",
               paste0("row ", first, ":"))
})

test_that("collinear covariates are Collinear", {
  d <- small()
  d$x3 <- 2 * d$x1
  expect_class(synthgmm(y ~ x1 + x3, d, estimator = "real-only"), "Collinear")
})

test_that("no labeled row is NoLabeledRows", {
  d <- small()
  expect_class(synthgmm(y ~ x1, d, labeled = rep(FALSE, nrow(d))), "NoLabeledRows")
})

test_that("a source named but absent is a MissingSource", {
  d <- small()
  expect_class(synthgmm(y ~ x1, d, sources = list(gpt = "gpt_y"), estimator = "ppi:claude"),
               "MissingSource", "claude")
})

test_that("a source with other design columns is a CovariateMismatch", {
  d <- small()
  expect_class(synthgmm(y ~ x1, d, sources = list(gpt = gpt_y ~ x1 + x2)), "CovariateMismatch")
})

test_that("a label mask of the wrong length is a LengthMismatch", {
  d <- small()
  expect_class(synthgmm(y ~ x1, d, labeled = c(TRUE, FALSE)), "LengthMismatch")
})

test_that("two sources with one name are a DuplicateSource", {
  d <- small()
  expect_class(synthgmm(y ~ x1, d, sources = list(gpt = "gpt_y", gpt = "gpt_y")),
               "DuplicateSource")
})

test_that("separated logistic data are a Separation", {
  d <- small()
  d$b <- as.numeric(d$x1 > 0)
  d$b[!d$labeled] <- NA
  expect_class(synthgmm(b ~ x1, d, model = "logistic", estimator = "real-only"), "Separation")
})

test_that("a failing estimator in compare() is reported, not fatal", {
  d <- small()
  cmp <- compare(y ~ x1, d, sources = list(gpt = "gpt_y"),
                 estimators = c("gmm", "ppi-synth", "real-only"))
  expect_s3_class(cmp$fits[[1]], "synthgmm")
  expect_s3_class(cmp$fits[[2]], "synthgmm_InvalidConfig")
  expect_s3_class(cmp$fits[[3]], "synthgmm")
  expect_output(print(cmp), "needs 2 source")
})

test_that("too few labeled rows for a variance are TooFewLabeled", {
  d <- small()
  expect_class(synthgmm(y ~ x1 + x2, d, labeled = seq_len(nrow(d)) <= 3), "TooFewLabeled")
})

test_that("outcomes the model fits exactly are a PerfectFit", {
  d <- small()
  d$y <- ifelse(d$labeled, 1 + 2 * d$x1, NA)
  expect_class(synthgmm(y ~ x1, d, estimator = "real-only"), "PerfectFit")
})

test_that("a coefficient one labeled row determines is a SingleRowFit, rows from 1", {
  d <- small()
  d$rare <- as.numeric(seq_len(nrow(d)) %in% c(6, 70, 90))
  expect_class(synthgmm(y ~ x1 + rare, d, estimator = "real-only"), "SingleRowFit", "labeled row 6 alone")
})

test_that("weights and labeling probabilities out of range are InvalidValue", {
  d <- small()
  expect_class(synthgmm(y ~ x1, d, weights = ~ -abs(x2)), "InvalidValue", "weights")
  expect_class(synthgmm(y ~ x1, d, labeling_probabilities = rep(2, nrow(d))),
               "InvalidValue", "labeling probabilit")
  expect_class(synthgmm(y ~ x1, d, model = "poisson"), "InvalidValue", "non-negative")
})

test_that("settings out of range are InvalidConfig naming the argument", {
  d <- small()
  expect_class(synthgmm(y ~ x1, d, level = 2), "InvalidConfig", "`level`")
  expect_class(synthgmm(y ~ x1, d, bootstrap = 1), "InvalidConfig", "replicates")
  expect_class(synthgmm(y ~ x1, d, model = "quantile"), "InvalidConfig", "levels")
  expect_class(plan(y ~ x1, d, sources = list(gpt = "gpt_y"), n_labeled = 50,
                    estimator = "ppi:zzz"), "InvalidConfig", "zzz")
})

# Simultaneous inference references from R's multcomp (Hothorn, Bretz and Westfall):
# a small least-squares data set (n = 40, four coefficients, heteroskedastic errors),
# its HC2 covariance (sandwich) with t(n − p), the max-|t| critical value of the
# simultaneous 95% intervals and the single-step adjusted p-values.
#
#   Rscript tests/data/make_multiple_testing.R
#   # writes tests/data/multcomp_n40.csv and tests/data/multcomp_n40.expected.json
#
# multcomp evaluates the multivariate t probabilities by randomized quasi-Monte-Carlo
# (mvtnorm, absolute error about 1e-3); the seed and a tight tolerance are set here.
suppressPackageStartupMessages({
  library(multcomp)
  library(sandwich)
  library(jsonlite)
})
here <- "tests/data"
set.seed(20261202)
n <- 40
d <- data.frame(x1 = rnorm(n), x2 = rnorm(n), x3 = rnorm(n))
d$x2 <- 0.6 * d$x1 + 0.8 * d$x2
d$y <- 0.2 + 0.35 * d$x1 + 0.1 * d$x2 + 0 * d$x3 + rnorm(n) * (0.8 + 0.4 * abs(d$x1))
write.csv(d, file.path(here, "multcomp_n40.csv"), row.names = FALSE)

fit <- lm(y ~ x1 + x2 + x3, data = d)
v <- vcovHC(fit, type = "HC2")
g <- glht(fit, linfct = diag(4), vcov. = v, df = n - 4)
set.seed(1)
calpha <- attr(confint(g, level = 0.95)$confint, "calpha")
set.seed(1)
single <- summary(g, test = adjusted("single-step", abseps = 1e-5))$test$pvalues
out <- list(
  theta = unname(coef(fit)),
  cov = unname(v),
  df = n - 4,
  calpha = calpha,
  single_step = as.numeric(single)
)
write(toJSON(out, digits = 17, auto_unbox = TRUE, pretty = TRUE), file.path(here, "multcomp_n40.expected.json"))

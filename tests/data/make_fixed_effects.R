# Fixed-effects regressions on the labeled rows of fixed_effects.csv, from R's estimatr
# (lm_robust with `fixed_effects`, which equals the regression with one indicator
# column per level; checked below against that regression).
#
#   Rscript tests/data/make_fixed_effects.R   # writes tests/data/fixed_effects.expected.json
#
# Keys: `one_way` (firm effects, clustered by firm, CR2 with Bell–McCaffrey degrees of
# freedom: estimatr's default with clusters), `one_way_cr0` (CR0, the crate's
# `SmallSample::Hc0` is CR0 times G/(G − 1)), `two_way` (firm and period effects,
# clustered by firm, CR2 and CR0), `weighted_cr0` (one-way, weights w, CR0). Each has
# `theta` (x1, x2), `cov` and, for CR2, `df`; `clusters` is G. `two_way_industry`:
# both effects, clustered by industry (firm number %/% 4: ten clusters, each holding
# whole firms).
suppressPackageStartupMessages({
  library(estimatr)
  library(jsonlite)
})
here <- "tests/data"
d <- read.csv(file.path(here, "fixed_effects.csv"))
lab <- d[d$labeled == 1, ]
lab$firm <- factor(lab$firm)
lab$period <- factor(lab$period)
lab$industry <- as.integer(substring(as.character(lab$firm), 2)) %/% 4

fit <- function(fe, se_type, weighted = FALSE, clusters = lab$firm) {
  args <- list(formula = y ~ x1 + x2, data = lab, fixed_effects = fe,
               clusters = clusters, se_type = se_type)
  if (weighted) args$weights <- lab$w
  f <- do.call(lm_robust, args)
  # The same regression with indicator columns gives the same slopes and covariance.
  dummies <- if (length(all.vars(fe)) == 1) y ~ x1 + x2 + firm else y ~ x1 + x2 + firm + period
  dargs <- list(formula = dummies, data = lab, clusters = clusters, se_type = se_type)
  if (weighted) dargs$weights <- lab$w
  g <- do.call(lm_robust, dargs)
  stopifnot(max(abs(coef(g)[2:3] - coef(f))) < 1e-10,
            max(abs(vcov(g)[2:3, 2:3] - vcov(f))) < 1e-10)
  list(theta = unname(coef(f)), cov = unname(vcov(f)), df = unname(f$df))
}
out <- list(
  clusters = length(unique(lab$firm)),
  one_way = fit(~firm, "CR2"),
  one_way_cr0 = fit(~firm, "CR0"),
  two_way = fit(~firm + period, "CR2"),
  two_way_cr0 = fit(~firm + period, "CR0"),
  weighted_cr0 = fit(~firm, "CR0", weighted = TRUE),
  two_way_industry = fit(~firm + period, "CR2", clusters = lab$industry)
)
write(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
      file.path(here, "fixed_effects.expected.json"))

# Several outcomes on the same rows: each fitted as by synthgmm(), with inference across
# all their coefficients from the compiled core.

#' Several outcomes on the same rows, with inference across all their coefficients
#'
#' Fits one estimator on each outcome (e.g. five annotation categories coded on the same
#' texts), each as [synthgmm()] would on its own, and adds what no single fit has:
#' Holm, Bonferroni and Benjamini-Hochberg adjustments and simultaneous intervals over
#' every coefficient of every outcome. The simultaneous intervals and single-step
#' p-values come from the joint covariance of all outcomes' estimates, from each fit's
#' influence on the rows (`from = "influence"`); for an estimator without one, from each
#' outcome's covariance combined across outcomes by the Gaussian correlation inequality
#' (`"bound"`: valid whatever the outcomes' dependence, conservative as far as they are
#' dependent); with `bootstrap = B`, from the bootstrap max-|t| over the same resamples
#' of every outcome (`"bootstrap"`).
#'
#' @inheritParams synthgmm
#' @param outcomes A named list of formulas, one per outcome, on the same right-hand
#'   side (`list(a = y_a ~ x1, b = y_b ~ x1)`).
#' @param sources A named list with, for each outcome, its sources as in [synthgmm()]
#'   (`list(a = list(gpt = "gpt_a"), b = list(gpt = "gpt_b"))`), or one list of sources
#'   given as formulas shared by every outcome.
#' @param estimator One estimator (see [synthgmm()]).
#' @return An object of class `synthgmm_outcomes`: `fits` (a named list of `synthgmm`
#'   objects), `table` (one row per outcome and term: estimate, std.error, p.value, the
#'   adjusted p-values `holm`, `bonferroni`, `bh`, `single_step`, and the simultaneous
#'   `conf.low`, `conf.high`), `critical_value` and `from` (`"influence"`, `"bound"`
#'   or `"bootstrap"`).
fit_outcomes <- function(outcomes, data, labeled = NULL, sources = list(), model = "ols",
                         estimator = "gmm", clusters = NULL, weights = NULL,
                         labeling_probabilities = NULL, fixed_effects = NULL,
                         quantiles = NULL, covariance = "windmeijer",
                         cross_weights = "selected", weighting = "two-step",
                         step_one = "per-block", small_sample = "hc2-bm", level = 0.95,
                         bootstrap = NULL, seed = 0, bootstrap_interval = "symmetric") {
  call <- match.call()
  if (!is.list(outcomes) || length(outcomes) == 0 || is.null(names(outcomes)) ||
      any(names(outcomes) == "")) {
    stop_synthgmm("InvalidConfig", "`outcomes` must be a named list of formulas", call)
  }
  if (length(estimator) != 1) {
    stop_synthgmm("InvalidConfig", "`estimator` names one estimator", call)
  }
  settings <- settings_list(model, quantiles, estimator, covariance, cross_weights,
                            weighting, step_one, small_sample, level, bootstrap, seed,
                            bootstrap_interval)
  frames <- lapply(names(outcomes), function(name) {
    frame_list(outcomes[[name]], data, labeled, outcome_sources(sources, name), clusters,
               weights, labeling_probabilities, call, fixed_effects)
  })
  result <- raise_error(fit_outcomes_core(frames, names(outcomes), settings), call)
  fits <- lapply(names(outcomes), function(name) {
    new_fit(result$fits[[name]], call, outcomes[[name]], level)
  })
  names(fits) <- names(outcomes)
  structure(list(fits = fits, table = outcomes_table(fits, result),
                 critical_value = result$critical_value, from = result$from,
                 summary = result$table, call = call),
            class = "synthgmm_outcomes")
}

# The sources of outcome `name`: its entry of a per-outcome list, or the shared list.
outcome_sources <- function(sources, name) {
  if (length(sources) == 0) return(list())
  if (name %in% names(sources) && is.list(sources[[name]])) return(sources[[name]])
  sources
}

# One row per outcome and term with the fits' and the joint inference's columns.
outcomes_table <- function(fits, result) {
  rows <- lapply(names(fits), function(name) {
    fit <- fits[[name]]
    data.frame(outcome = name, term = names(fit$coefficients),
               estimate = unname(fit$coefficients), std.error = fit$std_error,
               p.value = fit$p_value, stringsAsFactors = FALSE)
  })
  table <- do.call(rbind, rows)
  for (method in names(result$adjusted)) table[[method]] <- result$adjusted[[method]]
  table$conf.low <- result$conf_low
  table$conf.high <- result$conf_high
  rownames(table) <- NULL
  table
}

#' @export
print.synthgmm_outcomes <- function(x, ...) {
  cat(x$summary)
  invisible(x)
}

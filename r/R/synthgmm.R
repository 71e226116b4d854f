# Fitting: formulas and data to the compiled core's frame, its lists to S3 objects.
# Nothing here estimates; every number comes from the Rust library.

#' Valid inference from human labels plus proxy and synthetic data
#'
#' Fits the GMM estimator (by default with selected cross weights; the paper's
#' estimator is `cross_weights = "unrestricted"`) or a baseline on the labeled rows of
#' `data` and the auxiliary sources.
#'
#' @param formula The real model, e.g. `y ~ x1 + x2` (factors, interactions and
#'   transformations through `model.matrix`). Outcomes may be `NA` on unlabeled rows.
#' @param data A data frame with one row per real row.
#' @param labeled The rows with a human label: a column name, a logical vector, or
#'   `NULL` for the rows whose outcome is not `NA`.
#' @param sources A named list of auxiliary sources: a formula (`gpt_y ~ x1 + x2`,
#'   with as many design columns as the real one) or the name of an outcome column,
#'   which takes the real formula's right-hand side.
#' @param model `"ols"`, `"logistic"`, `"poisson"`, `"mean"` or `"quantile"` (with
#'   `quantiles`).
#' @param estimator `"gmm"`, `"real-only"`, `"naive"`, `"ppi"`, `"ppi-synth"`, `"dsl"`
#'   or `"reppi"`, optionally with its sources: `"ppi:gpt"`.
#' @param clusters,weights,labeling_probabilities One-sided formulas (`~ school`),
#'   column names or vectors.
#' @param fixed_effects Fixed effects absorbed by the within transformation: a
#'   one-sided formula (`~ firm + year`), column names or a list of vectors. The
#'   intercept is dropped (the effects absorb it); rows are clustered by the first
#'   effect unless `clusters` is given. `"ols"` only.
#' @param level Confidence level of the intervals.
#' @param bootstrap Number of bootstrap replicates (`NULL`: none).
#' @return An object of class `synthgmm`.
synthgmm <- function(formula, data, labeled = NULL, sources = list(), model = "ols",
                     estimator = "gmm", clusters = NULL, weights = NULL,
                     labeling_probabilities = NULL, fixed_effects = NULL, quantiles = NULL,
                     covariance = "windmeijer", cross_weights = "selected",
                     weighting = "two-step", step_one = "per-block",
                     small_sample = "hc2-bm", level = 0.95, bootstrap = NULL, seed = 0,
                     bootstrap_interval = "symmetric") {
  call <- match.call()
  if (length(estimator) != 1) {
    stop_synthgmm("InvalidConfig", "`estimator` names one estimator; use compare() for several", call)
  }
  args <- mget(names(formals()))
  args$estimators <- estimator
  fit <- comparison_of(args, call)$fits[[1]]
  if (inherits(fit, "condition")) stop(fit)
  fit
}

#' Several estimators on the same data, side by side
#'
#' @inheritParams synthgmm
#' @param estimators The estimators (see [synthgmm()]); each runs on its own and one
#'   that fails is reported, not fatal.
#' @return An object of class `synthgmm_comparison`: `fits` (a named list of `synthgmm`
#'   objects or conditions) and the side-by-side `table`.
compare <- function(formula, data, labeled = NULL, sources = list(), model = "ols",
                    estimators = c("gmm", "real-only", "naive", "ppi", "ppi-synth", "dsl",
                                   "reppi"),
                    clusters = NULL, weights = NULL, labeling_probabilities = NULL,
                    fixed_effects = NULL, quantiles = NULL, covariance = "windmeijer",
                    cross_weights = "selected", weighting = "two-step",
                    step_one = "per-block", small_sample = "hc2-bm", level = 0.95,
                    bootstrap = NULL, seed = 0, bootstrap_interval = "symmetric") {
  comparison_of(mget(names(formals())), match.call())
}

# The estimators `args$estimators` on the data, as a `synthgmm_comparison`.
comparison_of <- function(args, call) {
  settings <- with(args, settings_list(model, quantiles, estimators, covariance,
                                       cross_weights, weighting, step_one, small_sample,
                                       level, bootstrap, seed, bootstrap_interval))
  frame <- with(args, frame_list(formula, data, labeled, sources, clusters, weights,
                                 labeling_probabilities, call, fixed_effects))
  result <- raise_error(fit_estimators(frame, settings), call)
  fits <- lapply(result$fits, function(fit) {
    if (!is.null(fit$error)) return(condition_of(fit$error, call))
    new_fit(fit, call, args$formula, args$level)
  })
  structure(list(fits = fits, table = result$side_by_side, call = call),
            class = "synthgmm_comparison")
}

#' Standard errors predicted from a pilot for other designs
#'
#' @inheritParams synthgmm
#' @param n_labeled,n_rows The designs: labeled rows and all rows (recycled).
#' @param estimator `"gmm"`, `"real-only"`, `"ppi"` or `"ppi:SOURCE"`.
#' @return A `synthgmm_plan`: per design, the predicted standard errors and the labeled
#'   rows real-only would need for the same precision.
plan <- function(formula, data, labeled = NULL, sources = list(), model = "ols",
                 n_labeled, n_rows = NULL, estimator = "gmm", quantiles = NULL,
                 covariance = "windmeijer", cross_weights = "selected",
                 weighting = "two-step", step_one = "per-block", small_sample = "hc2-bm") {
  call <- match.call()
  settings <- settings_list(model, quantiles, estimator, covariance, cross_weights,
                            weighting, step_one, small_sample, 0.95, NULL, 0, "symmetric")
  frame <- frame_list(formula, data, labeled, sources, NULL, NULL, NULL, call)
  if (is.null(n_rows)) n_rows <- length(frame$labeled)
  grid <- data.frame(n_labeled = n_labeled, n_rows = n_rows)
  result <- raise_error(plan_design(frame, settings, estimator, as.numeric(grid$n_labeled),
                                    as.numeric(grid$n_rows)), call)
  colnames(result$se) <- result$names
  colnames(result$effective_labels) <- result$names
  structure(c(result, list(grid = grid, estimator = estimator, call = call)),
            class = "synthgmm_plan")
}

# The settings list the core reads.
settings_list <- function(model, quantiles, estimators, covariance, cross_weights,
                          weighting, step_one, small_sample, level, bootstrap, seed,
                          bootstrap_interval) {
  if (!is.numeric(level) || length(level) != 1 || !(level > 0 && level < 1)) {
    stop_synthgmm("InvalidConfig", "`level` must be one number in (0, 1)", sys.call(-1))
  }
  list(model = model, quantiles = if (is.null(quantiles)) NULL else as.numeric(quantiles),
       estimators = as.character(estimators), covariance = covariance,
       cross_weights = cross_weights, weighting = weighting, step_one = step_one,
       small_sample = small_sample, level = as.numeric(level),
       bootstrap = if (is.null(bootstrap)) NULL else as.numeric(bootstrap),
       seed = as.numeric(seed), bootstrap_interval = bootstrap_interval)
}

# The frame list the core reads: the real design, the label mask, every source's design
# and the optional row columns.
frame_list <- function(formula, data, labeled, sources, clusters, weights,
                       probabilities, call, fixed_effects = NULL) {
  if (!inherits(formula, "formula")) {
    stop_synthgmm("InvalidConfig", "`formula` must be a formula such as y ~ x1 + x2", call)
  }
  if (!is.data.frame(data)) stop_synthgmm("InvalidConfig", "`data` must be a data frame", call)
  effects <- effect_codes(fixed_effects, data, call)
  real <- without_intercept(design_of(formula, data, call), effects)
  designs <- lapply(source_designs(sources, formula, data, call),
                    function(s) without_intercept(s, effects))
  list(labeled = label_mask(labeled, data, real$y, call), y = real$y, x = real$x,
       ncol = ncol(real$x), names = colnames(real$x), sources = designs,
       weights = row_column(weights, data, "weights", call),
       clusters = cluster_codes(clusters, data, call),
       probabilities = row_column(probabilities, data, "labeling_probabilities", call),
       fixed_effects = effects)
}

# With fixed effects, the design without its intercept column (the effects absorb it).
without_intercept <- function(design, effects) {
  if (is.null(effects)) return(design)
  keep <- colnames(design$x) != "(Intercept)"
  design$x <- design$x[, keep, drop = FALSE]
  design
}

# Fixed effects as a list of dense integer codes, one per effect: a one-sided formula
# (`~ firm + year`), column names, or a list of vectors.
effect_codes <- function(spec, data, call) {
  if (is.null(spec)) return(NULL)
  columns <- if (inherits(spec, "formula")) {
    lapply(all.vars(spec), function(v) row_values(v, data, "fixed_effects", call))
  } else if (is.character(spec)) {
    lapply(spec, function(v) row_values(v, data, "fixed_effects", call))
  } else if (is.list(spec)) {
    spec
  } else {
    list(spec)
  }
  lapply(columns, function(values) {
    if (anyNA(values)) stop_synthgmm("InvalidValue", "`fixed_effects` has missing values", call)
    as.numeric(match(values, unique(values)) - 1L)
  })
}

# Outcome and design matrix of one formula on the data (no row dropped).
design_of <- function(formula, data, call) {
  frame <- tryCatch(
    stats::model.frame(formula, data, na.action = stats::na.pass),
    error = function(e) stop_synthgmm("MissingColumn", conditionMessage(e), call)
  )
  y <- stats::model.response(frame)
  if (is.null(y)) stop_synthgmm("InvalidConfig", "the formula has no outcome (left-hand side)", call)
  if (is.factor(y) || is.character(y)) {
    stop_synthgmm("InvalidValue", "the outcome must be numeric or logical (0/1 for logistic)", call)
  }
  x <- stats::model.matrix(attr(frame, "terms"), frame)
  list(y = as.numeric(y), x = x)
}

# The labeled rows as a logical vector without NA.
label_mask <- function(labeled, data, y, call) {
  mask <- if (is.null(labeled)) {
    !is.na(y)
  } else if (is.character(labeled) && length(labeled) == 1) {
    if (!labeled %in% names(data)) {
      stop_synthgmm("MissingColumn", sprintf("`data` has no column `%s`", labeled), call)
    }
    as.logical(data[[labeled]])
  } else {
    as.logical(labeled)
  }
  if (anyNA(mask)) stop_synthgmm("InvalidValue", "`labeled` has missing values", call)
  mask
}

# Every source as list(name, y, x); a column name takes the real formula's right side.
source_designs <- function(sources, formula, data, call) {
  if (length(sources) == 0) return(list())
  if (is.null(names(sources)) || any(names(sources) == "")) {
    stop_synthgmm("InvalidConfig", "`sources` must be a named list", call)
  }
  lapply(names(sources), function(name) {
    spec <- sources[[name]]
    if (is.character(spec)) {
      spec <- replace_outcome(formula, spec)
    }
    if (!inherits(spec, "formula")) {
      stop_synthgmm("InvalidConfig", sprintf("source `%s` must be a formula or a column name", name), call)
    }
    design <- design_of(spec, data, call)
    list(name = name, y = design$y, x = design$x)
  })
}

# The formula with another outcome and the same right-hand side.
replace_outcome <- function(formula, outcome) {
  formula[[2]] <- as.name(outcome)
  formula
}

# A per-row column given as a one-sided formula, a column name or a vector.
row_values <- function(spec, data, what, call) {
  if (is.null(spec)) return(NULL)
  if (inherits(spec, "formula")) {
    return(tryCatch(eval(spec[[length(spec)]], data, environment(spec)),
                    error = function(e) stop_synthgmm("MissingColumn", conditionMessage(e), call)))
  }
  if (is.character(spec) && length(spec) == 1 && nrow(data) != 1) {
    if (!spec %in% names(data)) {
      stop_synthgmm("MissingColumn", sprintf("`data` has no column `%s` (%s)", spec, what), call)
    }
    return(data[[spec]])
  }
  spec
}

row_column <- function(spec, data, what, call) {
  values <- row_values(spec, data, what, call)
  if (is.null(values)) NULL else as.numeric(values)
}

# Cluster labels of any type as dense integer codes.
cluster_codes <- function(spec, data, call) {
  values <- row_values(spec, data, "clusters", call)
  if (is.null(values)) return(NULL)
  if (anyNA(values)) stop_synthgmm("InvalidValue", "`clusters` has missing values", call)
  as.numeric(match(values, unique(values)) - 1L)
}

# The fit list from the core as a `synthgmm` object.
new_fit <- function(fit, call, formula, level) {
  names(fit$coefficients) <- fit$names
  dimnames(fit$vcov) <- list(fit$names, fit$names)
  fit$call <- call
  fit$formula <- formula
  fit$level <- level
  structure(fit, class = "synthgmm")
}

# Raises the core's error, if it returned one; else returns its result.
raise_error <- function(result, call) {
  if (!is.null(result$error)) stop(condition_of(result$error, call))
  result
}

# The R condition for one of the library's errors: classes `synthgmm_<Kind>`,
# `synthgmm_error`, `error`, `condition`.
condition_of <- function(error, call) {
  structure(class = c(paste0("synthgmm_", error$class), "synthgmm_error", "error", "condition"),
            list(message = error$message, call = call))
}

stop_synthgmm <- function(kind, message, call) {
  stop(condition_of(list(class = kind, message = message), call))
}

# The compiled core's entry points (registered by extendr_module! in src/rust/src/lib.rs).

fit_estimators <- function(frame, settings) .Call(wrap__fit_estimators, frame, settings)

plan_design <- function(frame, settings, estimator, labeled, rows) {
  .Call(wrap__plan_design, frame, settings, estimator, labeled, rows)
}

fit_outcomes_core <- function(frames, names, settings) .Call(wrap__fit_outcomes, frames, names, settings)

# Methods of the fitted objects: R's generics and broom's tidy()/glance() (registered
# when the generics package is present, and exported as functions either way).

#' @export
print.synthgmm <- function(x, ...) {
  cat(x$summary)
  if (!is.null(x$bootstrap)) {
    cat(sprintf("Bootstrap: %d replicates (%d failed), %s intervals, seed %s.\n",
                as.integer(x$bootstrap$replicates), as.integer(x$bootstrap$failed),
                x$bootstrap$interval, format(x$bootstrap$seed)))
  }
  invisible(x)
}

#' @export
summary.synthgmm <- function(object, ...) {
  structure(list(fit = object, coefficients = coefficient_table(object)),
            class = "summary.synthgmm")
}

#' @export
print.summary.synthgmm <- function(x, ...) {
  print(x$fit)
  invisible(x)
}

# Estimate, standard error, statistic, p-value and interval per coefficient.
coefficient_table <- function(fit) {
  table <- cbind(Estimate = fit$coefficients, `Std. Error` = fit$std_error,
                 `t value` = fit$statistic, `Pr(>|t|)` = fit$p_value,
                 `CI Lower` = fit$conf_low, `CI Upper` = fit$conf_high, DF = fit$df)
  rownames(table) <- fit$names
  table
}

#' @export
coef.synthgmm <- function(object, ...) object$coefficients

#' @export
vcov.synthgmm <- function(object, ...) object$vcov

#' The number of human-labeled rows (the sample size of the inference); `glance()`
#' also gives the number of rows.
#' @export
nobs.synthgmm <- function(object, ...) as.integer(object$n_labeled)

#' Confidence intervals: the fit's own (t with each coefficient's degrees of freedom,
#' or normal when they are infinite), or the bootstrap's at the fit's level.
#' @export
confint.synthgmm <- function(object, parm, level = object$level,
                             type = c("wald", "bootstrap"), ...) {
  type <- match.arg(type)
  bounds <- interval_bounds(object, level, type)
  dimnames(bounds) <- list(object$names, sprintf("%g %%", 100 * c(1 - level, 1 + level) / 2))
  if (missing(parm)) bounds else bounds[parm, , drop = FALSE]
}

interval_bounds <- function(object, level, type) {
  if (type == "bootstrap") {
    if (is.null(object$bootstrap)) stop("the fit has no bootstrap; refit with `bootstrap = B`")
    if (!isTRUE(all.equal(level, object$level))) {
      stop("the bootstrap interval is at the fit's level; refit with `level =` for another")
    }
    return(cbind(object$bootstrap$conf_low, object$bootstrap$conf_high))
  }
  if (isTRUE(all.equal(level, object$level))) return(cbind(object$conf_low, object$conf_high))
  q <- ifelse(is.finite(object$df), stats::qt((1 + level) / 2, object$df),
              stats::qnorm((1 + level) / 2))
  theta <- object$coefficients
  bounds <- cbind(theta - q * object$std_error, theta + q * object$std_error)
  # A proportion's interval on the logit scale, as the core forms it.
  logit <- !is.null(object$interval_scale) & object$interval_scale == "logit"
  if (any(logit)) {
    centre <- stats::qlogis(theta[logit])
    spread <- q[logit] * object$std_error[logit] / (theta[logit] * (1 - theta[logit]))
    bounds[logit, ] <- stats::plogis(cbind(centre - spread, centre + spread))
  }
  bounds
}

#' One row per coefficient, as broom's `tidy()`.
#' @export
tidy.synthgmm <- function(x, conf.int = TRUE, conf.level = x$level, ...) {
  out <- data.frame(term = x$names, estimate = unname(x$coefficients),
                    std.error = x$std_error, statistic = x$statistic, p.value = x$p_value,
                    stringsAsFactors = FALSE)
  if (conf.int) {
    bounds <- interval_bounds(x, conf.level, "wald")
    out$conf.low <- bounds[, 1]
    out$conf.high <- bounds[, 2]
  }
  out$df <- x$df
  out$estimator <- x$estimator
  out
}

#' One row per fit, as broom's `glance()`.
#' @export
glance.synthgmm <- function(x, ...) {
  j <- if (is.null(x$j_test)) c(NA_real_, NA_real_, NA_real_) else x$j_test
  data.frame(estimator = x$estimator, model = x$model, nobs = as.integer(x$n_labeled),
             n_rows = as.integer(x$n_rows), j.statistic = j[1], j.df = j[2],
             j.p.value = j[3],
             covariance = if (is.null(x$covariance)) NA_character_ else x$covariance,
             stringsAsFactors = FALSE)
}

#' @export
print.synthgmm_comparison <- function(x, ...) {
  cat(x$table)
  failed <- Filter(function(f) inherits(f, "condition"), x$fits)
  for (name in names(failed)) cat(sprintf("%s: %s\n", name, conditionMessage(failed[[name]])))
  invisible(x)
}

#' Every fitted estimator's coefficients, stacked.
#' @export
tidy.synthgmm_comparison <- function(x, ...) {
  fitted <- Filter(function(f) inherits(f, "synthgmm"), x$fits)
  do.call(rbind, lapply(fitted, tidy.synthgmm, ...))
}

#' @export
print.synthgmm_plan <- function(x, ...) {
  cat(sprintf("Planned standard errors of %s from a pilot of n = %d labeled of T = %d rows\n",
              x$estimator, as.integer(x$pilot[1]), as.integer(x$pilot[2])))
  print(as.data.frame(x), row.names = FALSE)
  invisible(x)
}

#' @export
as.data.frame.synthgmm_plan <- function(x, ...) {
  se <- as.data.frame(x$se)
  names(se) <- paste0("se.", x$names)
  cbind(x$grid, se)
}

# The politeness study (docs/tasks.md, task 1) from R, for docs/r.md.
#
#   cargo run --release --features sim --example politeness -- --export politeness.csv
#   Rscript docs/scripts/politeness.R politeness.csv [replications]
#
# The first command writes the study population: the Stack Exchange requests' consensus
# politeness, whether they hedge, their log length, and three sources on every row (a
# naive-Bayes text model trained on Wikipedia, one crowd worker, and generated text
# read by the same model). The full-data fit is theta*; for each labeling rate, random
# labeled subsets are fitted by the default GMM, real-only, PPI++ and PPI++Synth, and
# each interval for the hedge coefficient is judged against theta*.
suppressPackageStartupMessages(library(synthgmm))

args <- commandArgs(trailingOnly = TRUE)
population <- read.csv(args[1])
replications <- if (length(args) > 1) as.integer(args[2]) else 200
theta_star <- unname(coef(lm(y ~ hedge + log_length, population))["hedge"])

sources <- list(
  model = model_y ~ model_hedge + model_log_length,
  annotator = annotator_y ~ annotator_hedge + annotator_log_length,
  synthetic = synthetic_y ~ synthetic_hedge + synthetic_log_length
)
estimators <- c("gmm", "real-only", "ppi:annotator", "ppi-synth:annotator,synthetic")

# The population with `rate` of its rows labeled at random (the rest lose their outcome).
labeled_subset <- function(rate, seed) {
  set.seed(seed)
  d <- population
  d$labeled <- seq_len(nrow(d)) %in% sample(nrow(d), round(rate * nrow(d)))
  d$y[!d$labeled] <- NA
  d
}

# Every estimator's hedge coefficient on one labeled subset.
one_subset <- function(rate, replication) {
  d <- labeled_subset(rate, 1000 * replication + round(1000 * rate))
  cmp <- compare(y ~ hedge + log_length, d, labeled = "labeled", sources = sources,
                 estimators = estimators)
  rows <- tidy.synthgmm_comparison(cmp)
  rows <- rows[rows$term == "hedge", ]
  data.frame(rate = rate, estimator = rows$estimator, error = rows$estimate - theta_star,
             covered = rows$conf.low <= theta_star & theta_star <= rows$conf.high,
             width = rows$conf.high - rows$conf.low)
}

cat(sprintf("T = %d requests; theta* (hedge) = %.4f\n\n", nrow(population), theta_star))
cat("One subset, 5% labeled:\n")
print(compare(y ~ hedge + log_length, labeled_subset(0.05, 1), labeled = "labeled",
              sources = sources, estimators = estimators))

runs <- do.call(rbind, lapply(c(0.02, 0.05, 0.10), function(rate) {
  do.call(rbind, lapply(seq_len(replications), function(r) one_subset(rate, r)))
}))
summary_of <- function(part) {
  data.frame(rate = part$rate[1], estimator = part$estimator[1],
             coverage = mean(part$covered), mean_width = mean(part$width),
             rmse = sqrt(mean(part$error^2)))
}
table <- do.call(rbind, lapply(split(runs, list(runs$rate, runs$estimator), drop = TRUE),
                               summary_of))
table <- table[order(table$rate, table$estimator), ]
cat(sprintf("\n%d labeled subsets per rate (coverage of theta*, nominal 95%%):\n",
            replications))
print(table, row.names = FALSE, digits = 3)

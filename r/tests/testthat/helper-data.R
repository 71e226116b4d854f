# The crate's reference data sets (tests/data at the repository's root): the same
# files and expected values the Rust and Python tests read.
reference_dir <- function() {
  dir <- Sys.getenv("SYNTHGMM_TEST_DATA", "")
  if (dir == "") dir <- file.path(testthat::test_path(), "..", "..", "..", "tests", "data")
  normalizePath(dir, mustWork = TRUE)
}

reference <- function(name) {
  dir <- reference_dir()
  list(data = utils::read.csv(file.path(dir, paste0(name, ".csv"))),
       expected = jsonlite::fromJSON(file.path(dir, paste0(name, ".expected.json"))))
}

# Relative difference, with a floor for values near zero.
expect_close <- function(actual, expected, tol, floor = 1e-12) {
  actual <- unname(as.numeric(actual))
  expected <- unname(as.numeric(expected))
  expect_equal(length(actual), length(expected))
  gap <- max(abs(actual - expected) / pmax(abs(expected), floor))
  expect_lt(gap, tol)
}

library(testthat)
library(synthgmm)

test_check("synthgmm")

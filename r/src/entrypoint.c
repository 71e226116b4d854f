// Routine registration is forwarded to the Rust library, so that the linker keeps it.
void R_init_synthgmm_extendr(void *dll);

void R_init_synthgmm(void *dll) {
    R_init_synthgmm_extendr(dll);
}

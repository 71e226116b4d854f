//! A source's parameters in θ's units.
//!
//! A synthetic source generates its own covariates, in whatever units its generator
//! chose: the same information as the real covariate x_j may come as c·x_j. An
//! estimator that evaluates the source's moments at θ itself (PPI++, DSL) then mixes
//! units, and its estimate, Hessian and interval depend on c. Mapping the source into
//! θ's units first makes such an estimator free of them.
//!
//! With U = diag(u) the source's units per unit of θ, the source's moments in θ's
//! units are ψ̃(θ; row) = U ψ(Uθ; row). For an index model (least squares, logistic,
//! Poisson) whose source covariate j is c_j times the real one, u_j = 1/c_j gives
//! ψ̃(θ; x̂, ŷ) = ψ(θ; x, ŷ) exactly.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis, CowArray, Ix1};

use crate::moment::MomentModel;
use crate::rows::Rows;

/// Each coordinate's units per unit of θ: u_j = √(J_r,jj / J_m,jj), with J_r and J_m
/// the Jacobians (summed with `weights`) of the real and the source's rows at zero
/// parameters. For models whose Jacobian is free of the outcome (least squares,
/// logistic, Poisson, linear IV) J(0) is a second moment of the covariates, so u = 1
/// exactly when the source shares the real covariates and u_j = 1/c when its covariate
/// j is c times the real one. A coordinate whose ratio is not a positive number keeps
/// u = 1.
pub(crate) fn per_unit<M: MomentModel + ?Sized>(
    model: &M,
    real: Rows<'_>,
    source: Rows<'_>,
    weights: Option<ArrayView1<'_, f64>>,
) -> Array1<f64> {
    let zero = Array1::zeros(model.n_params(real));
    if model.jacobian_reads_outcome() {
        return Array1::ones(zero.len());
    }
    let j_real = model.jacobian(zero.view(), real, weights);
    let j_source = model.jacobian(zero.view(), source, weights);
    from_jacobians(&j_real, &j_source)
}

/// [`per_unit`] from the two Jacobians at zero parameters, J_r and J_m.
pub(crate) fn from_jacobians(j_real: &Array2<f64>, j_source: &Array2<f64>) -> Array1<f64> {
    Array1::from_shape_fn(j_real.ncols(), |j| {
        let ratio = j_real[[j, j]] / j_source[[j, j]];
        if ratio.is_finite() && ratio > 0.0 {
            ratio.sqrt()
        } else {
            1.0
        }
    })
}

/// A just-identified model's moments on a source's rows, in θ's units:
/// ψ̃(θ) = U ψ(Uθ), with Jacobian U J(Uθ) U. With no map (the source shares θ's
/// units) every call is the model's own.
#[derive(Debug)]
pub(crate) struct InThetaUnits<'a, M: ?Sized> {
    model: &'a M,
    per_unit: Option<Array1<f64>>,
}

impl<'a, M: MomentModel + ?Sized> InThetaUnits<'a, M> {
    /// The model on a source with units `per_unit` (see [`per_unit`]); all ones is no
    /// map.
    pub(crate) fn new(model: &'a M, per_unit: Array1<f64>) -> Self {
        let per_unit = Some(per_unit).filter(|u| u.iter().any(|&v| v != 1.0));
        InThetaUnits { model, per_unit }
    }

    /// Uθ, the source's own parameter at θ.
    pub(crate) fn own_params(&self, theta: ArrayView1<'_, f64>) -> Array1<f64> {
        self.inner(theta).into_owned()
    }

    /// U A for a matrix A whose rows are moments (the left side of U A U).
    pub(crate) fn map_row_side(&self, mut a: Array2<f64>) -> Array2<f64> {
        if let Some(u) = &self.per_unit {
            a *= &u.view().insert_axis(Axis(1));
        }
        a
    }

    /// A U for a matrix A whose columns are moments or parameters (the right side of
    /// U A U).
    pub(crate) fn map_columns(&self, mut a: Array2<f64>) -> Array2<f64> {
        if let Some(u) = &self.per_unit {
            a *= &u.view().insert_axis(Axis(0));
        }
        a
    }

    /// Uθ, the source's own parameter at θ (θ itself, borrowed, without a map).
    fn inner<'b>(&self, theta: ArrayView1<'b, f64>) -> CowArray<'b, f64, Ix1> {
        match &self.per_unit {
            Some(u) => CowArray::from(u * &theta),
            None => CowArray::from(theta),
        }
    }

    /// U A U for a Jacobian A, in place.
    pub(crate) fn map_jacobian(&self, jacobian: Array2<f64>) -> Array2<f64> {
        self.map_columns(self.map_row_side(jacobian))
    }

    /// Summed moments times U.
    pub(crate) fn map_sum(&self, sum: Array1<f64>) -> Array1<f64> {
        match &self.per_unit {
            Some(u) => sum * u,
            None => sum,
        }
    }

    /// Per-row moments times U, in place.
    fn map_rows(&self, mut out: ArrayViewMut2<'_, f64>) {
        if let Some(u) = &self.per_unit {
            out *= &u.view().insert_axis(Axis(0));
        }
    }
}

impl<M: MomentModel + ?Sized> MomentModel for InThetaUnits<'_, M> {
    fn name(&self) -> &str {
        self.model.name()
    }
    fn working_design(&self, beta: ArrayView1<'_, f64>, rows: Rows<'_>) -> Option<Array2<f64>> {
        let mut design = self.model.working_design(self.inner(beta).view(), rows)?;
        if let Some(u) = &self.per_unit {
            design *= &u.view().insert_axis(ndarray::Axis(0));
        }
        Some(design)
    }
    fn n_params(&self, rows: Rows<'_>) -> usize {
        self.model.n_params(rows)
    }
    fn n_moments(&self, rows: Rows<'_>) -> usize {
        self.model.n_moments(rows)
    }
    fn required_columns(&self) -> Vec<String> {
        self.model.required_columns()
    }
    fn exact_jacobian(&self) -> bool {
        self.model.exact_jacobian()
    }
    fn jacobian_reads_outcome(&self) -> bool {
        self.model.jacobian_reads_outcome()
    }
    fn moments(&self, beta: ArrayView1<'_, f64>, rows: Rows<'_>, mut out: ArrayViewMut2<'_, f64>) {
        self.model
            .moments(self.inner(beta).view(), rows, out.view_mut());
        self.map_rows(out);
    }
    fn jacobian(
        &self,
        beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
        weights: Option<ArrayView1<'_, f64>>,
    ) -> Array2<f64> {
        self.map_jacobian(self.model.jacobian(self.inner(beta).view(), rows, weights))
    }
    fn moments_and_jacobian(
        &self,
        beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
        weights: Option<ArrayView1<'_, f64>>,
        mut out: ArrayViewMut2<'_, f64>,
    ) -> Array2<f64> {
        let jacobian =
            self.model
                .moments_and_jacobian(self.inner(beta).view(), rows, weights, out.view_mut());
        self.map_rows(out);
        self.map_jacobian(jacobian)
    }
    fn moment_sums(
        &self,
        beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
        weights: Option<ArrayView1<'_, f64>>,
    ) -> Array1<f64> {
        self.map_sum(
            self.model
                .moment_sums(self.inner(beta).view(), rows, weights),
        )
    }
    fn moment_and_jacobian_sums(
        &self,
        beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
    ) -> (Array1<f64>, Array2<f64>) {
        let (sum, jacobian) = self
            .model
            .moment_and_jacobian_sums(self.inner(beta).view(), rows);
        (self.map_sum(sum), self.map_jacobian(jacobian))
    }
    fn moments_derivative(
        &self,
        beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
        direction: ArrayView1<'_, f64>,
        mut out: ArrayViewMut2<'_, f64>,
    ) {
        // d/ds U ψ(U(β + s v)) = U J_t(Uβ) U v.
        self.model.moments_derivative(
            self.inner(beta).view(),
            rows,
            self.inner(direction).view(),
            out.view_mut(),
        );
        self.map_rows(out);
    }
    fn moments_derivative_transposed(
        &self,
        beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
        v: ArrayView2<'_, f64>,
        mut out: ArrayViewMut2<'_, f64>,
    ) {
        // (U J_t U)ᵀ V_t = U J_tᵀ (U V_t).
        let mapped = match &self.per_unit {
            Some(u) => CowArray::from(&v * &u.view().insert_axis(Axis(0))),
            None => CowArray::from(v),
        };
        self.model.moments_derivative_transposed(
            self.inner(beta).view(),
            rows,
            mapped.view(),
            out.view_mut(),
        );
        self.map_rows(out);
    }
    fn check_rows(&self, rows: Rows<'_>) -> std::result::Result<(), String> {
        self.model.check_rows(rows)
    }
    fn start(&self, rows: Rows<'_>) -> Array1<f64> {
        let start = self.model.start(rows);
        match &self.per_unit {
            Some(u) => start / u,
            None => start,
        }
    }
    fn is_linear(&self) -> bool {
        self.model.is_linear()
    }
    fn absorbs_fixed_effects(&self) -> bool {
        self.model.absorbs_fixed_effects()
    }
    fn check_outcome(&self, y: f64) -> std::result::Result<(), &'static str> {
        self.model.check_outcome(y)
    }
    fn any_recession_direction(&self, directions: &[ArrayView1<'_, f64>], rows: Rows<'_>) -> bool {
        let inner: Vec<_> = directions.iter().map(|d| self.inner(*d)).collect();
        let views: Vec<ArrayView1<'_, f64>> = inner.iter().map(|d| d.view()).collect();
        self.model.any_recession_direction(&views, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{Logistic, Ols};
    use crate::moment::moment_matrix;
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    #[test]
    fn a_rescaled_covariate_maps_back_to_the_real_one() {
        let x = array![[1.0, 0.5], [1.0, -1.2], [1.0, 2.0], [1.0, 0.1]];
        let y = array![0.0, 1.0, 1.0, 0.0];
        let mut scaled = x.clone();
        scaled.column_mut(1).mapv_inplace(|v| v * 250.0);
        let real = Rows::new(x.view(), y.view()).unwrap();
        let source = Rows::new(scaled.view(), y.view()).unwrap();
        let theta = array![0.3, -0.7];
        for model in [&Ols as &dyn MomentModel, &Logistic] {
            let u = per_unit(model, real, source, None);
            assert_abs_diff_eq!(u, array![1.0, 1.0 / 250.0], epsilon = 1e-15);
            let mapped = InThetaUnits::new(model, u);
            let own = moment_matrix(model, theta.view(), real);
            let via = moment_matrix(&mapped, theta.view(), source);
            assert_abs_diff_eq!(own, via, epsilon = 1e-12);
            let w = array![0.5, 2.0, 1.0, 3.0];
            let weighted =
                (&via * &w.view().insert_axis(ndarray::Axis(1))).sum_axis(ndarray::Axis(0));
            assert_abs_diff_eq!(
                mapped.moment_sums(theta.view(), source, Some(w.view())),
                weighted,
                epsilon = 1e-12
            );
            assert_abs_diff_eq!(
                model.jacobian(theta.view(), real, None),
                mapped.jacobian(theta.view(), source, None),
                epsilon = 1e-12
            );
        }
    }

    #[test]
    fn shared_units_are_no_map() {
        let x = array![[1.0, 0.5], [1.0, -1.2], [1.0, 2.0]];
        let y = array![0.1, 0.2, 0.3];
        let rows = Rows::new(x.view(), y.view()).unwrap();
        let u = per_unit(&Ols, rows, rows, None);
        assert!(InThetaUnits::new(&Ols, u).per_unit.is_none());
    }
}

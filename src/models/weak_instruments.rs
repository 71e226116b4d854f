//! Weak-instrument diagnostics for [`LinearIv`] on the labeled rows: first-stage F
//! statistics and the Anderson–Rubin test and confidence set.
//!
//! With Z = [W, Z_e] (the k exogenous columns W of x and the q excluded instruments
//! Z_e) and an endogenous column d of x, the first stage regresses d on Z over the n
//! labeled rows; its F statistic tests the q coefficients of Z_e:
//!
//!   F = π̂_eᵀ V̂_e⁻¹ π̂_e / q,
//!
//! with V̂ = σ̂²(ZᵀZ)⁻¹, σ̂² = v̂ᵀv̂/(n − k − q) (homoskedastic; F(q, n − k − q)), or the
//! heteroskedasticity-robust (ZᵀZ)⁻¹(Σ v̂_t² z_t z_tᵀ)(ZᵀZ)⁻¹ (compared with χ²(q)/q;
//! cluster sums with clusters, times G/(G − 1)), and the partial R² of Z_e. With one
//! endogenous regressor the robust F is the Kleibergen–Paap Wald statistic; F below
//! about 10 (Staiger and Stock 1997; Stock and Yogo 2005) warns that the IV estimate
//! is biased toward OLS and its Wald interval unreliable.
//!
//! The Anderson–Rubin test of β_D = b (the endogenous coefficients) regresses
//! y − D b on Z and tests the coefficients of Z_e with the same F: its size is right
//! however weak the instruments are. With one endogenous regressor its homoskedastic
//! confidence set {b : AR(b) ≤ F_{q, n−k−q; 1−α}} is where a quadratic
//! A b² − 2B b + C ≤ 0 holds, with u(b) = M_W(y − d b) and
//! Q = P_{M_W Z_e} − κ M_Z, κ = q F_crit/(n − k − q): A = cᵀQc, B = aᵀQc, C = aᵀQa,
//! a = M_W y, c = M_W d. It is an interval, the line minus an interval (two rays), the
//! whole line (instruments uninformative) or empty.
//!
//! These use the labeled rows only: the sources do not enter the first stage or the
//! test (a source's outcome is not the real outcome). Observation weights and labeling
//! probabilities are not supported here.

use ndarray::{s, Array1, Array2, ArrayView1, Axis};
use statrs::distribution::{ChiSquared, ContinuousCDF, FisherSnedecor};

use super::LinearIv;
use crate::data::DataSources;
use crate::error::{Error, Result};

/// Whether the first-stage and Anderson–Rubin statistics assume homoskedastic errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IvErrors {
    /// Homoskedastic: F(q, n − k − q) reference.
    Homoskedastic,
    /// Heteroskedasticity-robust (cluster-robust with clusters): χ²(q)/q reference.
    Robust,
}

/// An F statistic with its degrees of freedom and p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct FStatistic {
    /// The statistic (the Wald statistic over q).
    pub statistic: f64,
    /// q, the restrictions.
    pub df_num: f64,
    /// n − k − q for the homoskedastic form; `None` for the robust χ²(q)/q reference.
    pub df_denom: Option<f64>,
    /// P(F ≥ statistic).
    pub p_value: f64,
}

/// The first stage of one endogenous regressor.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct FirstStage {
    /// The column of x.
    pub column: usize,
    /// The homoskedastic F of the excluded instruments.
    pub f: FStatistic,
    /// The robust F (Kleibergen–Paap Wald with one endogenous regressor).
    pub robust_f: FStatistic,
    /// The partial R² of the excluded instruments.
    pub partial_r2: f64,
}

/// The Anderson–Rubin confidence set for one endogenous coefficient.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum ConfidenceSet {
    /// [lower, upper].
    Interval(f64, f64),
    /// (−∞, lower] ∪ [upper, ∞): unbounded, the instruments are weak.
    Outside(f64, f64),
    /// Every value: the instruments carry no information at this level.
    Everything,
    /// No value: the model's restrictions are rejected at this level.
    Empty,
}

/// The weak-instrument diagnostics as the front ends report them: each endogenous
/// regressor's first stage and, with one endogenous regressor, the Anderson–Rubin
/// 1 − α confidence set of its coefficient (see [`LinearIv::weak_instruments`]).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct WeakInstruments {
    /// One per endogenous regressor, in the order of x's columns.
    pub first_stage: Vec<FirstStage>,
    /// α of the Anderson–Rubin set.
    pub alpha: f64,
    /// The Anderson–Rubin set; `None` with more than one endogenous regressor.
    pub anderson_rubin_set: Option<ConfidenceSet>,
}

/// F below this warns of weak instruments (Staiger and Stock 1997).
const WEAK_F: f64 = 10.0;

impl WeakInstruments {
    /// The lines a summary prints under the coefficient table, the endogenous
    /// regressors named by `names` (x's column names).
    pub fn describe(&self, names: &[String]) -> String {
        let name = |c: usize| names.get(c).cloned().unwrap_or_else(|| format!("x{c}"));
        let mut text = String::from("Weak instruments (labeled rows):\n");
        for s in &self.first_stage {
            let weak = s.robust_f.statistic.min(s.f.statistic) < WEAK_F;
            text.push_str(&format!(
                "  first stage of {}: F = {:.2} (p = {}), robust F = {:.2}, partial R² = {:.3}{}\n",
                name(s.column),
                s.f.statistic,
                crate::inference::format_p_value(s.f.p_value),
                s.robust_f.statistic,
                s.partial_r2,
                if weak { " (below 10: weak)" } else { "" }
            ));
        }
        if let Some(set) = self.anderson_rubin_set {
            let level = 100.0 * (1.0 - self.alpha);
            text.push_str(&format!("  Anderson–Rubin {level}% set: {set}\n"));
        }
        text
    }
}

impl std::fmt::Display for ConfidenceSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            ConfidenceSet::Interval(lo, hi) => write!(f, "[{lo:.4}, {hi:.4}]"),
            ConfidenceSet::Outside(lo, hi) => write!(f, "(−∞, {lo:.4}] ∪ [{hi:.4}, ∞)"),
            ConfidenceSet::Everything => f.write_str("every value"),
            ConfidenceSet::Empty => f.write_str("empty"),
        }
    }
}

/// The labeled rows' blocks: y, the endogenous columns D and the instruments
/// Z = [W, Z_e].
struct Blocks {
    y: Array1<f64>,
    endogenous: Vec<usize>,
    d: Array2<f64>,
    z: Array2<f64>,
    /// Columns of z that are exogenous covariates (the first k).
    k: usize,
    clusters: Option<Vec<u32>>,
}

impl LinearIv {
    /// The columns of x that are not exogenous.
    fn endogenous_columns(&self, p: usize) -> Vec<usize> {
        (0..p).filter(|c| !self.exogenous.contains(c)).collect()
    }

    fn blocks(&self, data: &DataSources) -> Result<Blocks> {
        if data.weights().is_some() || data.labeling_probabilities().is_some() {
            return Err(Error::InvalidConfig {
                parameter: "data",
                reason: "the weak-instrument diagnostics do not take observation weights or labeling probabilities".into(),
            });
        }
        data.check_model(self)?;
        let rows = data.real_rows();
        let x = rows.x();
        let endogenous = self.endogenous_columns(x.ncols());
        if endogenous.is_empty() || self.instruments.is_empty() {
            return Err(Error::InvalidConfig {
                parameter: "instruments",
                reason: "the diagnostics need an endogenous regressor and an excluded instrument"
                    .into(),
            });
        }
        let z = self.instruments(rows);
        let n = rows.len();
        if n <= z.ncols() {
            return Err(Error::TooFewLabeled {
                labeled: n,
                required: z.ncols() + 1,
            });
        }
        Ok(Blocks {
            y: rows.y().to_owned(),
            d: x.select(Axis(1), &endogenous),
            endogenous,
            k: self.exogenous.len(),
            z,
            clusters: data.labeled_clusters(),
        })
    }

    /// The first stage of each endogenous regressor on the labeled rows (see the
    /// module's documentation).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] without an endogenous regressor or an excluded
    /// instrument, or with weights; [`Error::TooFewLabeled`];
    /// [`Error::Collinear`] for collinear instruments.
    pub fn first_stage(&self, data: &DataSources) -> Result<Vec<FirstStage>> {
        let b = self.blocks(data)?;
        b.endogenous
            .iter()
            .enumerate()
            .map(|(i, &column)| {
                let d = b.d.column(i);
                let full = excluded_wald(&b, d)?;
                Ok(FirstStage {
                    column,
                    f: full.0,
                    robust_f: full.1,
                    partial_r2: full.2,
                })
            })
            .collect()
    }

    /// The first stages and, with one endogenous regressor, the Anderson–Rubin
    /// 1 − α set: what the command line and the Python package report under an IV fit.
    ///
    /// # Errors
    /// As [`first_stage`](Self::first_stage) and
    /// [`anderson_rubin_set`](Self::anderson_rubin_set).
    pub fn weak_instruments(&self, data: &DataSources, alpha: f64) -> Result<WeakInstruments> {
        let first_stage = self.first_stage(data)?;
        let anderson_rubin_set = match first_stage.len() {
            1 => Some(self.anderson_rubin_set(data, alpha)?),
            _ => None,
        };
        Ok(WeakInstruments {
            first_stage,
            alpha,
            anderson_rubin_set,
        })
    }

    /// The Anderson–Rubin test of β_D = `b` (one value per endogenous regressor, in
    /// the order of x's columns) on the labeled rows.
    ///
    /// # Errors
    /// As [`first_stage`](Self::first_stage); [`Error::ShapeMismatch`] when `b` does
    /// not have one value per endogenous regressor.
    pub fn anderson_rubin(
        &self,
        data: &DataSources,
        b: &[f64],
        errors: IvErrors,
    ) -> Result<FStatistic> {
        let blocks = self.blocks(data)?;
        if b.len() != blocks.endogenous.len() {
            return Err(Error::ShapeMismatch {
                what: "hypothesized endogenous coefficients".into(),
                found: b.len(),
                expected: blocks.endogenous.len(),
            });
        }
        let shifted = &blocks.y - &blocks.d.dot(&Array1::from(b.to_vec()));
        let (f, robust, _) = excluded_wald(&blocks, shifted.view())?;
        Ok(match errors {
            IvErrors::Homoskedastic => f,
            IvErrors::Robust => robust,
        })
    }

    /// The homoskedastic Anderson–Rubin 1 − α confidence set of the one endogenous
    /// coefficient (see the module's documentation).
    ///
    /// # Errors
    /// As [`first_stage`](Self::first_stage); [`Error::InvalidConfig`] with more than
    /// one endogenous regressor or α outside [MIN_ALPHA, 1).
    pub fn anderson_rubin_set(&self, data: &DataSources, alpha: f64) -> Result<ConfidenceSet> {
        crate::inference::critical_value_at(None, alpha)?;
        let b = self.blocks(data)?;
        if b.endogenous.len() != 1 {
            return Err(Error::InvalidConfig {
                parameter: "endogenous",
                reason: "the Anderson–Rubin set is computed for one endogenous regressor".into(),
            });
        }
        let (n, kz) = (b.z.nrows() as f64, b.z.ncols() as f64);
        let q = kz - b.k as f64;
        let crit = FisherSnedecor::new(q, n - kz)
            .map_err(|_| too_few(&b))?
            .inverse_cdf(1.0 - alpha);
        let kappa = q * crit / (n - kz);
        let w = b.z.slice(s![.., ..b.k]).to_owned();
        let a = residualize(&w, b.y.view())?;
        let c = residualize(&w, b.d.column(0))?;
        let ze = residualize_columns(&w, &b.z.slice(s![.., b.k..]).to_owned())?;
        // uᵀQv = uᵀP v − κ uᵀM_Z v, with P the projection on M_W Z_e and
        // uᵀM_Z v = uᵀv − uᵀP v for u, v already orthogonal to W.
        let proj = |u: &Array1<f64>, v: &Array1<f64>| -> Result<f64> {
            let fitted = project(&ze, v.view())?;
            Ok(u.dot(&fitted))
        };
        let form = |u: &Array1<f64>, v: &Array1<f64>| -> Result<f64> {
            let pv = proj(u, v)?;
            Ok(pv - kappa * (u.dot(v) - pv))
        };
        let (qa, qb, qc) = (form(&c, &c)?, form(&a, &c)?, form(&a, &a)?);
        Ok(quadratic_set(qa, qb, qc))
    }
}

fn too_few(b: &Blocks) -> Error {
    Error::TooFewLabeled {
        labeled: b.z.nrows(),
        required: b.z.ncols() + 1,
    }
}

/// {x : A x² − 2B x + C ≤ 0}.
fn quadratic_set(a: f64, b: f64, c: f64) -> ConfidenceSet {
    let disc = b * b - a * c;
    let scale = a.abs().max(b.abs()).max(c.abs());
    if a.abs() <= 1e-14 * scale {
        // Linear: −2B x + C ≤ 0.
        return if b.abs() <= 1e-14 * scale {
            if c <= 0.0 {
                ConfidenceSet::Everything
            } else {
                ConfidenceSet::Empty
            }
        } else if b > 0.0 {
            ConfidenceSet::Outside(f64::NEG_INFINITY, c / (2.0 * b))
        } else {
            ConfidenceSet::Outside(c / (2.0 * b), f64::INFINITY)
        };
    }
    if disc < 0.0 {
        return if a > 0.0 {
            ConfidenceSet::Empty
        } else {
            ConfidenceSet::Everything
        };
    }
    let root = disc.sqrt();
    let (r1, r2) = ((b - root) / a, (b + root) / a);
    let (lo, hi) = (r1.min(r2), r1.max(r2));
    if a > 0.0 {
        ConfidenceSet::Interval(lo, hi)
    } else {
        ConfidenceSet::Outside(lo, hi)
    }
}

/// v minus its least-squares fit on the columns of w.
fn residualize(w: &Array2<f64>, v: ArrayView1<'_, f64>) -> Result<Array1<f64>> {
    Ok(&v - &project(w, v)?)
}

fn residualize_columns(w: &Array2<f64>, m: &Array2<f64>) -> Result<Array2<f64>> {
    let mut out = m.clone();
    for (mut col, orig) in out.columns_mut().into_iter().zip(m.columns()) {
        col.assign(&residualize(w, orig)?);
    }
    Ok(out)
}

/// The least-squares fit of v on the columns of w (zero when w has no column: a
/// model with no exogenous regressor, e.g. once fixed effects absorbed the constant).
fn project(w: &Array2<f64>, v: ArrayView1<'_, f64>) -> Result<Array1<f64>> {
    if w.ncols() == 0 {
        return Ok(Array1::zeros(v.len()));
    }
    let coef = crate::linalg::least_squares(w.view(), v.insert_axis(Axis(1)), false).ok_or(
        Error::Collinear {
            block: "instruments".into(),
        },
    )?;
    Ok(w.dot(&coef.column(0)))
}

/// The homoskedastic and robust F statistics of the excluded instruments in the
/// regression of v on Z, and the partial R².
fn excluded_wald(b: &Blocks, v: ArrayView1<'_, f64>) -> Result<(FStatistic, FStatistic, f64)> {
    let z = &b.z;
    let (n, kz) = (z.nrows(), z.ncols());
    let q = kz - b.k;
    let collinear = || Error::Collinear {
        block: "instruments".into(),
    };
    let zz_inv =
        crate::linalg::inverse(crate::linalg::gram(z.view()).view()).ok_or_else(collinear)?;
    let coef = zz_inv.dot(&z.t().dot(&v));
    let resid = &v - &z.dot(&coef);
    let rss = resid.dot(&resid);
    let sigma2 = rss / (n - kz) as f64;
    let excluded = coef.slice(s![b.k..]).to_owned();
    let wald = |cov: &Array2<f64>| -> Result<f64> {
        let block = cov.slice(s![b.k.., b.k..]).to_owned();
        let inv = crate::linalg::inverse(block.view()).ok_or_else(collinear)?;
        Ok(excluded.dot(&inv.dot(&excluded)))
    };
    let plain = wald(&(&zz_inv * sigma2))? / q as f64;
    let scores = z * &resid.view().insert_axis(Axis(1));
    let meat = match &b.clusters {
        Some(ids) => crate::engine::clustered_gram(scores.view(), ids).0,
        None => crate::linalg::gram(scores.view()),
    };
    let robust = wald(&crate::linalg::sandwich(&zz_inv, &meat))? / q as f64;
    let w = z.slice(s![.., ..b.k]).to_owned();
    let restricted = residualize(&w, v)?;
    let rss_w = restricted.dot(&restricted);
    let partial_r2 = if rss_w > 0.0 { 1.0 - rss / rss_w } else { 0.0 };
    let (qf, df2) = (q as f64, (n - kz) as f64);
    let f_dist = FisherSnedecor::new(qf, df2).map_err(|_| too_few(b))?;
    let chi = ChiSquared::new(qf).map_err(|_| too_few(b))?;
    Ok((
        FStatistic {
            statistic: plain,
            df_num: qf,
            df_denom: Some(df2),
            p_value: f_dist.sf(plain),
        },
        FStatistic {
            statistic: robust,
            df_num: qf,
            df_denom: None,
            p_value: chi.sf(robust * qf),
        },
        partial_r2,
    ))
}

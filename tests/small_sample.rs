//! The leverage corrections of the selected cross weights (`SmallSample`): where the
//! selection keeps the real-only estimate, its reported variance is the HC2 / HC3
//! sandwich of least squares on the labeled rows times the degrees-of-freedom factor
//! n/(n − p), computed here from the textbook formulas.

use crate::common;

use common::{load, solve};
use ndarray::{Array1, Array2, Axis};
use synthgmm::models::Ols;
use synthgmm::{CrossChoice, SmallSample, TwoStepGmm};

/// (XᵀX)⁻¹ Σ x_t x_tᵀ r_t² / (1 − h_t)^power (XᵀX)⁻¹ with h_t = x_tᵀ(XᵀX)⁻¹x_t.
fn hc(x: &Array2<f64>, y: &Array1<f64>, power: i32) -> Array2<f64> {
    let xtx = x.t().dot(x);
    let bread = solve(&xtx, &Array2::eye(x.ncols()));
    let beta = bread.dot(&x.t().dot(y));
    let r = y - &x.dot(&beta);
    let h = Array1::from_shape_fn(x.nrows(), |t| x.row(t).dot(&bread.dot(&x.row(t))));
    let s = Array1::from_shape_fn(x.nrows(), |t| r[t] * r[t] / (1.0 - h[t]).powi(power));
    let meat = (x * &s.insert_axis(Axis(1))).t().dot(x);
    bread.dot(&meat).dot(&bread)
}

#[test]
fn real_only_choices_report_the_leverage_corrected_sandwich() {
    // No link between the real and the auxiliary residuals: the selection keeps the
    // real-only estimate for most coefficients.
    let d = load("ols_T1000_n100_rho0");
    let data = d.sources(&["proxy", "synth"]);
    let lab: Vec<usize> = (0..d.labeled.len()).filter(|&t| d.labeled[t]).collect();
    let (x, y) = (
        d.real_x.select(Axis(0), &lab),
        d.real_y.select(Axis(0), &lab),
    );
    let (n, p) = (lab.len() as f64, 3.0);
    let mut checked = 0;
    for (setting, power) in [
        (SmallSample::Hc0, 0),
        (SmallSample::Hc2, 1),
        (SmallSample::Hc3, 2),
    ] {
        let fit = TwoStepGmm::new(Ols)
            .small_sample(setting)
            .fit(&data)
            .unwrap();
        let expected = hc(&x, &y, power) * (n / (n - p));
        for (j, choice) in fit.cross_choices().unwrap().iter().enumerate() {
            if *choice == CrossChoice::RealOnly {
                let want = expected[[j, j]].sqrt();
                let got = fit.se()[j];
                assert!(
                    (got - want).abs() <= 1e-9 * want,
                    "{setting:?}, {j}: {got} vs {want}"
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 3,
        "the selection kept real-only for {checked} coefficients"
    );
}

/// HC3 ≥ HC2 ≥ HC0 coefficient by coefficient, as the leverages are in [0, 1).
#[test]
fn corrections_only_widen() {
    let d = load("ols_T3000_n300_rho7");
    let data = d.sources(&["proxy", "synth"]);
    let se = |setting| {
        TwoStepGmm::new(Ols)
            .small_sample(setting)
            .fit(&data)
            .unwrap()
            .se()
    };
    let (hc0, hc2, hc3) = (
        se(SmallSample::Hc0),
        se(SmallSample::Hc2),
        se(SmallSample::Hc3),
    );
    for j in 0..3 {
        assert!(
            hc0[j] <= hc2[j] * (1.0 + 1e-12) && hc2[j] <= hc3[j] * (1.0 + 1e-12),
            "{j}"
        );
        // With n = 300 and p = 3, leverage is small: HC2 is within 2% of HC0.
        assert!(hc2[j] <= 1.02 * hc0[j], "{j}: {} vs {}", hc2[j], hc0[j]);
    }
}

/// The corrections come with t(n − p) quantiles; HC0 keeps the normal ones.
#[test]
fn corrections_use_t_quantiles_with_n_minus_p_df() {
    let d = load("ols_T1000_n100_rho0");
    let data = d.sources(&["proxy", "synth"]);
    let n = d.labeled.iter().filter(|&&l| l).count() as f64;
    for (setting, df) in [
        (SmallSample::Hc0, None),
        (SmallSample::Hc2, Some(n - 3.0)),
        (SmallSample::Hc3, Some(n - 3.0)),
    ] {
        let fit = TwoStepGmm::new(Ols)
            .small_sample(setting)
            .fit(&data)
            .unwrap();
        assert_eq!(fit.estimate().t_df(), df, "{setting:?}");
        // The interval's half-width over se is the reference quantile: t_{97, 0.975}
        // = 1.984723 (scipy.stats.t.ppf), or z = 1.959964.
        let ci = fit.conf_int(0.05).unwrap();
        let ratio = (ci[[1, 1]] - ci[[1, 0]]) / (2.0 * fit.se()[1]);
        let want = if df.is_some() {
            1.984_723_2
        } else {
            1.959_964_0
        };
        assert!((ratio - want).abs() < 1e-6, "{setting:?}: {ratio}");
    }
}

/// The selected estimate with one proxy source, coefficient by coefficient, against the
/// candidate it chose written out by hand in `tests/data/make_selected_one_source.py`:
/// the pilot, the influence functions there (the real block HC2-scaled), the regression
/// of the real ones on the proxy's, the leave-one-out residual variance, the real-only
/// scale and the all-rows term from the unlabeled rows' own spread.
#[test]
fn the_selected_estimate_is_its_candidate_written_out() {
    let expected = common::expected("selected_one_source");
    let mut corrected = 0;
    for name in ["ols_T3000_n300_rho7", "ols_T1000_n100_rho0"] {
        let data = load(name).sources(&["proxy"]);
        let fit = TwoStepGmm::new(Ols).fit(&data).unwrap();
        for (j, choice) in fit.cross_choices().unwrap().iter().enumerate() {
            let want = &expected[name][j][choice.name()];
            let (theta, se) = (
                want["theta"].as_f64().unwrap(),
                want["se"].as_f64().unwrap(),
            );
            let label = format!("{name}, coefficient {j} ({})", choice.name());
            assert!(
                (fit.theta()[j] - theta).abs() <= 1e-9 * theta.abs().max(1.0),
                "{label}: theta {} vs {theta}",
                fit.theta()[j]
            );
            assert!(
                (fit.se()[j] - se).abs() <= 1e-9 * se,
                "{label}: se {} vs {se}",
                fit.se()[j]
            );
            corrected += usize::from(*choice != CrossChoice::RealOnly);
        }
    }
    assert!(corrected >= 3, "{corrected} coefficients corrected");
}

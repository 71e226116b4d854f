use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use synthgmm::baselines::{PpiPlusPlus, RealOnly};
use synthgmm::models::Ols;
use synthgmm::{DataSources, Estimator, SmallSample, TwoStepGmm};
fn main() {
    let (t, p) = (1_000_000usize, 10usize);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x = Array2::from_shape_fn((t, p), |(_, j)| if j == 0 { 1.0 } else { StandardNormal.sample(&mut rng) });
    let lin: Array1<f64> = x.sum_axis(ndarray::Axis(1)) * 0.2;
    let e: Array1<f64> = Array1::from_shape_fn(t, |_| StandardNormal.sample(&mut rng));
    let y = &lin + &e;
    let proxy = &y + &Array1::from_shape_fn(t, |_| { let v: f64 = StandardNormal.sample(&mut rng); v });
    let labeled: Vec<bool> = (0..t).map(|_| rng.random::<f64>() < 0.1).collect();
    let d = DataSources::builder(&labeled).real(&x, &y).source("p", &x, &proxy).build().unwrap();
    for ss in [SmallSample::Hc2, SmallSample::Hc2BellMcCaffrey, SmallSample::Hc2, SmallSample::Hc2BellMcCaffrey] {
        let mut r = vec![]; let mut q = vec![]; let mut g = vec![];
        for _ in 0..5 {
            let s = std::time::Instant::now();
            RealOnly::new(Ols).small_sample(ss).estimate(&d).unwrap();
            r.push(s.elapsed().as_secs_f64());
            let s = std::time::Instant::now();
            PpiPlusPlus::new(Ols, "p").small_sample(ss).estimate(&d).unwrap();
            q.push(s.elapsed().as_secs_f64());
            let s = std::time::Instant::now();
            TwoStepGmm::new(Ols).small_sample(ss).fit(&d).unwrap();
            g.push(s.elapsed().as_secs_f64());
        }
        let med = |mut v: Vec<f64>| { v.sort_by(f64::total_cmp); v[2] };
        println!("{ss:?} real-only {:.4} ppi {:.4} gmm {:.4}", med(r), med(q), med(g));
    }
}

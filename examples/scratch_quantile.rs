use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use synthgmm::baselines::{PpiPlusPlus, RealOnly};
use synthgmm::{models::Quantile, CrossWeights, DataSources, Estimator, TwoStepGmm};

fn main() -> Result<(), synthgmm::Error> {
    let args: Vec<String> = std::env::args().collect();
    let reps: usize = args.get(1).map_or(200, |s| s.parse().unwrap());
    let n: usize = args.get(2).map_or(100, |s| s.parse().unwrap());
    let t = 2000;
    let levels = [0.1, 0.5, 0.9];
    let truth = [-1.2815515655446004, 0.0, 1.2815515655446004];
    let mut cover = [[0usize; 3]; 4];
    let mut fails = [0usize; 4];
    let mut se = [[0.0f64; 3]; 4];
    for rep in 0..reps {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(rep as u64);
        let y: Array1<f64> = Array1::from_shape_fn(t, |_| StandardNormal.sample(&mut rng));
        let f: Array1<f64> = y.mapv(|v| 0.3 + 0.8 * v)
            + Array1::from_shape_fn(t, |_| {
                let e: f64 = StandardNormal.sample(&mut rng);
                0.5 * e
            });
        let x = Array2::from_elem((t, 1), 1.0);
        let labeled: Vec<bool> = (0..t).map(|i| i < n).collect();
        let data = DataSources::builder(&labeled)
            .real(&x, &y)
            .source("llm", &x, &f)
            .build()?;
        let model = Quantile::new(&levels, data.real_y())?;
        let fits: Vec<Result<(Array1<f64>, Array1<f64>), synthgmm::Error>> = vec![
            RealOnly::from_gmm(TwoStepGmm::new(model.clone()).max_iters(200))
                .estimate(&data)
                .map(|e| (e.theta().to_owned(), e.se().to_owned())),
            TwoStepGmm::new(model.clone())
                .max_iters(200)
                .fit(&data)
                .map(|e| (e.theta().to_owned(), e.se().to_owned())),
            TwoStepGmm::new(model.clone())
                .max_iters(200)
                .cross_weights(CrossWeights::Unrestricted)
                .fit(&data)
                .map(|e| (e.theta().to_owned(), e.se().to_owned())),
            PpiPlusPlus::new(model.clone(), "llm").fit(&data).map(|e| {
                (
                    e.estimate().theta().to_owned(),
                    e.estimate().se().to_owned(),
                )
            }),
        ];
        for (k, r) in fits.into_iter().enumerate() {
            match r {
                Ok((th, s)) => {
                    for j in 0..3 {
                        let tcrit = 1.984;
                        if (th[j] - truth[j]).abs() <= tcrit * s[j] {
                            cover[k][j] += 1;
                        }
                        se[k][j] += s[j] / reps as f64;
                    }
                }
                Err(e) => {
                    fails[k] += 1;
                    eprintln!("rep {rep} est {k}: {e}");
                }
            }
        }
    }
    for k in 0..4 {
        println!(
            "{k}: cover {:?} se {:?} fails {}",
            cover[k].map(|c| c as f64 / reps as f64),
            se[k],
            fails[k]
        );
    }
    Ok(())
}

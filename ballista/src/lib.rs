//! synthgmm's aggregate on a Ballista cluster.
//!
//! [`synthgmm_datafusion`] runs each pass of the estimator as one aggregate query whose
//! function, `synthgmm_pass`, carries the pass's parameters (θ, η). Ballista ships the
//! query plan to its executors; with Ballista's own codecs a user-defined aggregate
//! travels by name only and the executors would use whatever function of that name
//! they have — the parameters lost, the sums wrong, and no error. [`LogicalCodec`] and
//! [`PhysicalCodec`] wrap Ballista's codecs and write the whole pass into the plan: the
//! model (its name, and linear IV's instruments), k, the sources, the parameters (every
//! bit), the parts asked for, the contraction vector and the columns the aggregate
//! takes; executors rebuild the function from those bytes.
//!
//! [`session_state`] configures a session with the codecs; [`standalone`] starts an
//! in-process scheduler and executor with them (for tests and single machines); the
//! `synthgmm-scheduler` and `synthgmm-executor` programs run a real cluster with them
//! (`docs/scale.md`). The models the codecs rebuild are the crate's
//! [`Ols`](synthgmm::models::Ols), [`Logistic`](synthgmm::models::Logistic),
//! [`Poisson`](synthgmm::models::Poisson) and [`LinearIv`](synthgmm::models::LinearIv).

use std::sync::Arc;

use ballista::datafusion::execution::SessionStateBuilder;
use ballista::prelude::{SessionConfigExt, SessionContextExt};
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::{SessionState, TaskContext};
use datafusion::logical_expr::{AggregateUDF, Extension, LogicalPlan};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use ndarray::Array1;
use synthgmm::models::{LinearIv, Logistic, Ols, Poisson};
use synthgmm::named::ModelName;
use synthgmm::MomentModel;
use synthgmm::PassRequest;
use synthgmm_datafusion::PassUdaf;

/// Marks the bytes of an encoded pass.
const MAGIC: &[u8] = b"synthgmm-pass-1";

/// The bytes of a pass: MAGIC, the model's name, k, the sources, the parameters, the
/// parts, the contraction vector (little-endian u64 counts and f64 values), whether
/// the labeled blocks divide by the labeling probabilities, which per-row columns
/// (observation weights, labeling probabilities) the aggregate takes last, the names
/// of the blocks' extra columns and, for linear IV, its exogenous columns and
/// instruments (strings as a count and UTF-8 bytes).
fn encode(model: &str, k: usize, request: &PassRequest, columns: &PerRow) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    let count = |n: usize, out: &mut Vec<u8>| out.extend((n as u64).to_le_bytes());
    let text = |s: &str, out: &mut Vec<u8>| {
        count(s.len(), out);
        out.extend(s.as_bytes());
    };
    text(model, &mut out);
    count(k, &mut out);
    count(request.sources.len(), &mut out);
    for &s in &request.sources {
        count(s, &mut out);
    }
    count(request.params.len(), &mut out);
    out.extend(request.params.iter().flat_map(|v| v.to_le_bytes()));
    out.push(u8::from(request.jacobian));
    // Ω̂: 1 for Σggᵀ, 2 for its diagonal alone.
    out.push(match (request.omega, request.squares) {
        (true, _) => 1,
        (false, true) => 2,
        (false, false) => 0,
    });
    match &request.contraction {
        Some(v) => {
            out.push(1);
            count(v.len(), &mut out);
            out.extend(v.iter().flat_map(|x| x.to_le_bytes()));
        }
        None => out.push(0),
    }
    out.push(u8::from(request.probabilities));
    out.push(u8::from(columns.weights));
    out.push(u8::from(columns.probabilities));
    count(columns.names.len(), &mut out);
    columns.names.iter().for_each(|name| text(name, &mut out));
    if let Some((exogenous, instruments)) = &columns.iv {
        count(exogenous.len(), &mut out);
        exogenous.iter().for_each(|&j| count(j, &mut out));
        count(instruments.len(), &mut out);
        instruments.iter().for_each(|name| text(name, &mut out));
    }
    out
}

/// The columns an aggregate takes besides the blocks' outcome and covariates: the
/// per-row columns after the blocks', the names of each block's extra columns, and
/// for linear IV its exogenous columns and instruments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct PerRow {
    weights: bool,
    probabilities: bool,
    names: Vec<String>,
    iv: Option<(Vec<usize>, Vec<String>)>,
}

impl PerRow {
    fn of<M>(f: &PassUdaf<M>) -> Self {
        PerRow {
            weights: f.is_weighted(),
            probabilities: f.has_probabilities(),
            names: f.column_names().to_vec(),
            iv: None,
        }
    }

    /// The aggregate of `model` for `request` taking these columns.
    fn udaf<M: MomentModel + Clone>(
        &self,
        model: M,
        request: PassRequest,
        k: usize,
    ) -> PassUdaf<M> {
        PassUdaf::new(model, request, k)
            .with_per_row(self.weights, self.probabilities)
            .with_columns(self.names.clone())
    }
}

/// Reads the bytes of a pass in order.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

fn malformed() -> DataFusionError {
    DataFusionError::Internal("malformed synthgmm pass".into())
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let out = self
            .bytes
            .get(self.at..self.at.checked_add(n).ok_or_else(malformed)?)
            .ok_or_else(malformed)?;
        self.at += n;
        Ok(out)
    }
    fn count(&mut self) -> Result<usize> {
        let b: [u8; 8] = self.take(8)?.try_into().map_err(|_| malformed())?;
        usize::try_from(u64::from_le_bytes(b)).map_err(|_| malformed())
    }
    fn text(&mut self) -> Result<String> {
        let n = self.count()?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| malformed())
    }
    fn texts(&mut self) -> Result<Vec<String>> {
        (0..self.count()?).map(|_| self.text()).collect()
    }
    fn floats(&mut self, n: usize) -> Result<Array1<f64>> {
        let b = self.take(n.checked_mul(8).ok_or_else(malformed)?)?;
        Ok(b.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("eight bytes")))
            .collect())
    }
}

/// A pass read back from its bytes.
struct Pass {
    model: String,
    k: usize,
    request: PassRequest,
    columns: PerRow,
}

/// Reads bytes written by [`encode`].
fn decode(bytes: &[u8]) -> Result<Pass> {
    let mut r = Reader {
        bytes: bytes.strip_prefix(MAGIC).ok_or_else(malformed)?,
        at: 0,
    };
    let model = r.text()?;
    let k = r.count()?;
    let n_sources = r.count()?;
    let sources = (0..n_sources)
        .map(|_| r.count())
        .collect::<Result<Vec<_>>>()?;
    let n_params = r.count()?;
    let params = r.floats(n_params)?;
    let flags = r.take(3)?;
    let contraction = match flags[2] {
        1 => {
            let n = r.count()?;
            Some(r.floats(n)?)
        }
        _ => None,
    };
    let flags_after = r.take(3)?;
    let names = r.texts()?;
    // Linear IV (`LinearIv::name`) carries its instruments after the columns.
    let iv = match model == "linear-iv" {
        true => Some((
            (0..r.count()?).map(|_| r.count()).collect::<Result<_>>()?,
            r.texts()?,
        )),
        false => None,
    };
    let columns = PerRow {
        weights: flags_after[1] == 1,
        probabilities: flags_after[2] == 1,
        names,
        iv,
    };
    Ok(Pass {
        model,
        k,
        request: PassRequest {
            sources,
            params,
            jacobian: flags[0] == 1,
            omega: flags[1] == 1,
            squares: flags[1] == 2,
            contraction,
            probabilities: flags_after[0] == 1,
        },
        columns,
    })
}

/// The pass's bytes, when `node` is synthgmm's aggregate for a built-in model (named
/// as the core names it, [`ModelName`]).
fn encode_udaf(node: &AggregateUDF) -> Option<Vec<u8>> {
    let inner: &dyn std::any::Any = node.inner().as_ref();
    if let Some(f) = inner.downcast_ref::<PassUdaf<Ols>>() {
        return Some(encode(f.model().name(), f.k(), f.request(), &PerRow::of(f)));
    }
    if let Some(f) = inner.downcast_ref::<PassUdaf<Logistic>>() {
        return Some(encode(f.model().name(), f.k(), f.request(), &PerRow::of(f)));
    }
    if let Some(f) = inner.downcast_ref::<PassUdaf<LinearIv>>() {
        let columns = PerRow {
            iv: Some((
                f.model().exogenous().to_vec(),
                f.model().instrument_names().to_vec(),
            )),
            ..PerRow::of(f)
        };
        return Some(encode(f.model().name(), f.k(), f.request(), &columns));
    }
    inner
        .downcast_ref::<PassUdaf<Poisson>>()
        .map(|f| encode(f.model().name(), f.k(), f.request(), &PerRow::of(f)))
}

/// synthgmm's aggregate rebuilt from its bytes, or `None` for other bytes.
fn decode_udaf(buf: &[u8]) -> Option<Result<Arc<AggregateUDF>>> {
    if !buf.starts_with(MAGIC) {
        return None;
    }
    Some(decode(buf).and_then(|pass| {
        let Pass {
            model,
            k,
            request,
            columns,
        } = pass;
        if let Some((exogenous, instruments)) = &columns.iv {
            let model = LinearIv::new(exogenous.iter().copied(), instruments.iter().cloned());
            return Ok(Arc::new(AggregateUDF::from(
                columns.udaf(model, request, k),
            )));
        }
        let udaf = match model.parse::<ModelName>() {
            Ok(ModelName::Ols) => AggregateUDF::from(columns.udaf(Ols, request, k)),
            Ok(ModelName::Logistic) => AggregateUDF::from(columns.udaf(Logistic, request, k)),
            Ok(ModelName::Poisson) => AggregateUDF::from(columns.udaf(Poisson, request, k)),
            _ => {
                return Err(DataFusionError::Internal(format!(
                    "synthgmm pass for a model the codec does not rebuild: `{model}`"
                )))
            }
        };
        Ok(Arc::new(udaf))
    }))
}

/// The function methods both codecs share: scalar and window functions go to Ballista's
/// codec, synthgmm's aggregate is written (and rebuilt) in full.
macro_rules! function_methods {
    () => {
        fn try_decode_udf(
            &self,
            name: &str,
            buf: &[u8],
        ) -> Result<Arc<datafusion::logical_expr::ScalarUDF>> {
            self.inner.try_decode_udf(name, buf)
        }
        fn try_encode_udf(
            &self,
            node: &datafusion::logical_expr::ScalarUDF,
            buf: &mut Vec<u8>,
        ) -> Result<()> {
            self.inner.try_encode_udf(node, buf)
        }
        fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
            decode_udaf(buf).unwrap_or_else(|| self.inner.try_decode_udaf(name, buf))
        }
        fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
            match encode_udaf(node) {
                Some(bytes) => {
                    buf.extend(bytes);
                    Ok(())
                }
                None => self.inner.try_encode_udaf(node, buf),
            }
        }
        fn try_decode_udwf(
            &self,
            name: &str,
            buf: &[u8],
        ) -> Result<Arc<datafusion::logical_expr::WindowUDF>> {
            self.inner.try_decode_udwf(name, buf)
        }
        fn try_encode_udwf(
            &self,
            node: &datafusion::logical_expr::WindowUDF,
            buf: &mut Vec<u8>,
        ) -> Result<()> {
            self.inner.try_encode_udwf(node, buf)
        }
    };
}

/// Ballista's logical codec, with synthgmm's aggregate written in full.
#[derive(Debug)]
pub struct LogicalCodec {
    inner: Arc<dyn LogicalExtensionCodec>,
}

impl Default for LogicalCodec {
    fn default() -> Self {
        Self {
            inner: SessionConfig::new_with_ballista().ballista_logical_extension_codec(),
        }
    }
}

impl LogicalExtensionCodec for LogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }
    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }
    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &datafusion::common::TableReference,
        schema: datafusion::arrow::datatypes::SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn datafusion::catalog::TableProvider>> {
        self.inner
            .try_decode_table_provider(buf, table_ref, schema, ctx)
    }
    fn try_encode_table_provider(
        &self,
        table_ref: &datafusion::common::TableReference,
        node: Arc<dyn datafusion::catalog::TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        self.inner.try_encode_table_provider(table_ref, node, buf)
    }
    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn datafusion::datasource::file_format::FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }
    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn datafusion::datasource::file_format::FileFormatFactory>,
    ) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }
    function_methods!();
}

/// Ballista's physical codec, with synthgmm's aggregate written in full.
#[derive(Debug)]
pub struct PhysicalCodec {
    inner: Arc<dyn PhysicalExtensionCodec>,
}

impl Default for PhysicalCodec {
    fn default() -> Self {
        Self {
            inner: SessionConfig::new_with_ballista().ballista_physical_extension_codec(),
        }
    }
}

impl PhysicalExtensionCodec for PhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.inner.try_decode(buf, inputs, ctx, proto_converter)
    }
    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        self.inner.try_encode(node, buf, proto_converter)
    }
    function_methods!();
}

/// A Ballista session configuration with synthgmm's codecs.
pub fn session_config() -> SessionConfig {
    SessionConfig::new_with_ballista()
        .with_ballista_logical_extension_codec(Arc::new(LogicalCodec::default()))
        .with_ballista_physical_extension_codec(Arc::new(PhysicalCodec::default()))
}

/// A session state with synthgmm's codecs, for [`SessionContext::standalone_with_state`]
/// or [`SessionContext::remote_with_state`].
pub fn session_state() -> SessionState {
    SessionStateBuilder::new()
        .with_config(session_config())
        .with_default_features()
        .build()
}

/// An in-process Ballista scheduler and executor with synthgmm's codecs, and a
/// session on them. Call it inside a Tokio runtime that outlives the session.
///
/// # Errors
/// When the scheduler or the executor cannot start.
pub async fn standalone() -> Result<SessionContext> {
    SessionContext::standalone_with_state(session_state()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_survive_their_bytes() {
        let request = PassRequest {
            sources: vec![1, 0],
            params: ndarray::array![0.1, -2.5e-300, f64::MAX, 3.0, 0.0, -0.0],
            jacobian: true,
            omega: false,
            squares: true,
            contraction: Some(ndarray::array![1.0, 2.0, 1.0 / 3.0]),
            probabilities: false,
        };
        let both = PerRow {
            weights: true,
            probabilities: true,
            names: vec!["z".into(), "offset é".into()],
            iv: None,
        };
        let pass = decode(&encode("logistic", 2, &request, &both)).unwrap();
        assert_eq!(
            (pass.model.as_str(), pass.k, &pass.columns),
            ("logistic", 2, &both)
        );
        let iv = PerRow {
            iv: Some((vec![0, 2], vec!["z".into(), "w".into()])),
            ..both.clone()
        };
        let back = decode(&encode("linear-iv", 3, &request, &iv)).unwrap();
        assert_eq!(back.columns, iv);
        let neither = PerRow::default();
        let designed = PassRequest {
            probabilities: true,
            ..request.clone()
        };
        let back = decode(&encode("ols", 2, &designed, &neither)).unwrap();
        assert_eq!((back.columns, back.request.probabilities), (neither, true));
        let back = pass.request;
        assert_eq!(back.sources, request.sources);
        let bits = |a: &Array1<f64>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.params), bits(&request.params));
        assert_eq!(
            bits(back.contraction.as_ref().unwrap()),
            bits(request.contraction.as_ref().unwrap())
        );
        assert_eq!(
            (back.jacobian, back.omega, back.squares),
            (true, false, true)
        );
        assert!(decode(b"synthgmm-pass-1\x05").is_err());
        assert!(decode_udaf(b"other").is_none());
    }
}

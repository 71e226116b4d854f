//! The mixtures PPI++ sums over: the mixed sources on every row or on the labeled rows
//! used ([`SourceRows`]). Every sum over them goes chunk by chunk through
//! [`Mixture::map`], so the estimator never asks where the rows live.

use std::ops::Range;

use crate::baselines::source_rows::SourceRows;
use crate::rows::Rows;
use crate::units::InThetaUnits;

/// One source of a mixture on some rows: its share, the rows and its moments in θ's
/// units.
pub(super) struct Part<'r, M: ?Sized> {
    pub share: f64,
    pub rows: Rows<'r>,
    pub model: &'r InThetaUnits<'r, M>,
}

/// A mixture m_t = Σ_k w_k ψ(θ; source_k, row t) on some rows: each source's share
/// w_k and moments in θ's units, and the rows.
pub(super) struct Mixture<'r, M: ?Sized> {
    pub shares: Vec<(f64, &'r InThetaUnits<'r, M>)>,
    pub rows: SourceRows<'r>,
}

impl<M: ?Sized + Sync> Mixture<'_, M> {
    /// `f` on each chunk of rows: its range and the mixture's parts there (in
    /// parallel; results in row order).
    pub(super) fn map<R: Send>(
        &self,
        f: impl Fn(&Range<usize>, &[Part<'_, M>]) -> R + Sync + Send,
    ) -> Vec<R> {
        self.rows.map(|range, rows| {
            let parts: Vec<Part<'_, M>> = self
                .shares
                .iter()
                .zip(rows)
                .map(|(&(share, model), rows)| Part {
                    share,
                    rows: rows.reborrow(),
                    model,
                })
                .collect();
            f(range, &parts)
        })
    }

    /// The moments of the mixture's one source, when it is one source at share 1.
    pub(super) fn single(&self) -> Option<&InThetaUnits<'_, M>> {
        match self.shares.as_slice() {
            [(share, model)] if *share == 1.0 => Some(model),
            _ => None,
        }
    }
}

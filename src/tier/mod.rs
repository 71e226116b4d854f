//! Where the rows live. In memory, the rows are arrays of
//! [`DataSources`](crate::DataSources) and the engine sums them chunk by chunk. Out of
//! core they are read, batch by batch, by a [`row_stream::RowStream`] (Parquet files), or
//! summed where they live by a [`SumsEngine`] (a query engine, a cluster, a warehouse),
//! which answers each pass's [`PassRequest`]. Either way the labeled rows are held in
//! memory, and every pass gives the same sums as the in-memory one, to rounding.
//!
//! This layer sits between the engine's chunk sums (below) and the data set (above):
//! it knows chunks and sums, never a `DataSources`, so a new tier is one file here
//! implementing [`row_stream::RowStream`] or [`SumsEngine`], plus its constructor of a
//! data set.

pub(crate) mod columns;
pub mod external;
pub(crate) mod row_stream;
pub(crate) mod shared;
pub(crate) mod stream;

pub use columns::{BlockColumns, ColumnSpec};
pub use external::{ColumnBlock, PassRequest, RowColumns, SumsEngine};
pub(crate) use stream::Streamed;

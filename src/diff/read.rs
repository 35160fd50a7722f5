//! Decoding the runs a plan chose: chunks fetched in parallel and in order,
//! documents parsed from a known document start, and only those the other
//! side may not hold handed on.

use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt};
use mongodb::bson::RawDocumentBuf;

use super::plan::{Run, SidePlan};
use super::{DiffError, Result};
use crate::store::chunks::{fetch_chunk, TRANSFER_PARALLEL};
use crate::store::Store;

/// Calls `emit` with every document of `plan`'s runs that is not proven to
/// be in the other side, in stream order.
pub async fn unproven_documents(
    store: &Arc<Store>,
    plan: &SidePlan,
    ns: &str,
    emit: &mut (dyn FnMut(RawDocumentBuf) -> Result<()> + Send),
) -> Result<()> {
    for run in &plan.runs {
        read_run(store, plan, run, ns, emit).await?;
    }
    Ok(())
}

async fn read_run(
    store: &Arc<Store>,
    plan: &SidePlan,
    run: &Run,
    ns: &str,
    emit: &mut (dyn FnMut(RawDocumentBuf) -> Result<()> + Send),
) -> Result<()> {
    let malformed = |message: String| DiffError::Malformed {
        ns: ns.to_string(),
        message,
    };
    let total = *plan.offsets.last().unwrap_or(&0);
    // The run's chunks arrive in order, TRANSFER_PARALLEL in flight; a
    // document reaching past the run's end pulls the chunks after it.
    let fetch = |i: usize| {
        let (store, chunk) = (store.clone(), plan.chunks[i]);
        async move { fetch_chunk(&store, chunk).await }
    };
    let last = plan.chunk_at(run.to.saturating_sub(1).max(run.parse_from));
    let mut chunks = futures_util::stream::iter(run.first_chunk..=last)
        .map(fetch)
        .buffered(TRANSFER_PARALLEL)
        .chain(
            futures_util::stream::iter(last + 1..plan.chunks.len())
                .map(fetch)
                .buffered(1),
        );
    // `buf` holds the stream from offset `buf_start`.
    let mut buf: Vec<u8> = Vec::new();
    let mut buf_start = plan.offsets[run.first_chunk];
    let mut pos = run.parse_from;
    while pos < run.to && pos < total {
        let need = |len: u64| pos + len - buf_start;
        while (buf.len() as u64) < need(4) {
            let bytes = chunks
                .try_next()
                .await?
                .ok_or_else(|| malformed("the stream ends inside a document".into()))?;
            buf.extend_from_slice(&bytes);
        }
        let at = (pos - buf_start) as usize;
        let len = i32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
        if !(5..=64 << 20).contains(&len) {
            return Err(malformed(format!(
                "bad document length {len} at offset {pos}"
            )));
        }
        let len = len as u64;
        while (buf.len() as u64) < need(len) {
            let bytes = chunks
                .try_next()
                .await?
                .ok_or_else(|| malformed("the stream ends inside a document".into()))?;
            buf.extend_from_slice(&bytes);
        }
        let end = pos + len;
        if end > run.from && !plan.proven(pos, end) {
            let bytes = buf[at..at + len as usize].to_vec();
            let doc = RawDocumentBuf::from_bytes(bytes).map_err(|e| malformed(e.to_string()))?;
            emit(doc)?;
        }
        pos = end;
        // What is behind `pos` is parsed: let it go.
        let consumed = (pos - buf_start) as usize;
        if consumed > (4 << 20) {
            buf.drain(..consumed);
            buf_start = pos;
        }
    }
    Ok(())
}

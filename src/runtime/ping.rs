//! The readiness probe: one wire-protocol `ping` written by hand (an
//! `OP_MSG` on a fresh TCP connection), so that an engine still starting
//! costs a refused or closed connection, not a driver's server selection
//! timeout, and `wait_ready` can poll every few milliseconds.

use std::time::Duration;

use mongodb::bson::{doc, Document};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::endpoint::Endpoint;

/// `OP_MSG`, the message every command travels in.
const OP_MSG: i32 = 2013;
/// More than any reply to `ping`: a bigger length is not an engine's answer.
const MAX_REPLY_BYTES: usize = 1 << 20;
const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// Does the engine at `endpoint` answer `ping` with `ok: 1`?
pub(super) async fn ping(endpoint: &Endpoint) -> bool {
    let connect = TcpStream::connect((endpoint.host.as_str(), endpoint.port));
    let Ok(Ok(mut stream)) = tokio::time::timeout(CONNECT_TIMEOUT, connect).await else {
        return false;
    };
    let Ok(request) = ping_message() else {
        return false;
    };
    let exchange = async {
        stream.write_all(&request).await?;
        let mut header = [0u8; 16];
        stream.read_exact(&mut header).await?;
        let length = i32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let length = usize::try_from(length).unwrap_or(0);
        if !(16 + 5..=MAX_REPLY_BYTES).contains(&length) {
            return Ok(None);
        }
        let mut body = vec![0u8; length - 16];
        stream.read_exact(&mut body).await?;
        Ok::<_, std::io::Error>(Some(body))
    };
    match tokio::time::timeout(REPLY_TIMEOUT, exchange).await {
        Ok(Ok(Some(body))) => reply_ok(&body),
        _ => false,
    }
}

/// `{ ping: 1, $db: "admin" }` in an `OP_MSG` with one body section.
fn ping_message() -> mongodb::bson::ser::Result<Vec<u8>> {
    let command = mongodb::bson::to_vec(&doc! { "ping": 1, "$db": "admin" })?;
    // flag bits (none), then section kind 0: the command document.
    let mut message = Vec::with_capacity(16 + 5 + command.len());
    let length = (16 + 5 + command.len()) as i32;
    for field in [length, 1, 0, OP_MSG] {
        message.extend_from_slice(&field.to_le_bytes());
    }
    message.extend_from_slice(&0u32.to_le_bytes());
    message.push(0);
    message.extend_from_slice(&command);
    Ok(message)
}

/// Is the body of an `OP_MSG` reply (after its header) a document with `ok: 1`?
fn reply_ok(body: &[u8]) -> bool {
    // flag bits, then section kind 0 and its document.
    let Some(document) = body.get(5..).filter(|_| body.get(4) == Some(&0)) else {
        return false;
    };
    let Ok(reply) = Document::from_reader(document) else {
        return false;
    };
    match reply.get("ok") {
        Some(mongodb::bson::Bson::Double(ok)) => *ok == 1.0,
        Some(mongodb::bson::Bson::Int32(ok)) => *ok == 1,
        Some(mongodb::bson::Bson::Int64(ok)) => *ok == 1,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ping_is_an_op_msg_of_its_own_length() {
        let message = ping_message().unwrap();
        let length = i32::from_le_bytes([message[0], message[1], message[2], message[3]]);
        assert_eq!(length as usize, message.len());
        assert_eq!(&message[12..16], &OP_MSG.to_le_bytes());
        let command = Document::from_reader(&message[21..]).unwrap();
        assert_eq!(command.get_i32("ping"), Ok(1));
        assert_eq!(command.get_str("$db"), Ok("admin"));
    }

    #[test]
    fn only_ok_one_is_an_answer() {
        let body = |d: Document| {
            let mut body = vec![0, 0, 0, 0, 0];
            body.extend(mongodb::bson::to_vec(&d).unwrap());
            body
        };
        assert!(reply_ok(&body(doc! { "ok": 1.0 })));
        assert!(reply_ok(&body(doc! { "ok": 1 })));
        assert!(!reply_ok(&body(doc! { "ok": 0.0, "errmsg": "starting" })));
        assert!(!reply_ok(&body(doc! { "other": 1 })));
        assert!(!reply_ok(&[0, 0, 0, 0, 1, 5, 0, 0, 0, 0]));
        assert!(!reply_ok(&[]));
    }
}

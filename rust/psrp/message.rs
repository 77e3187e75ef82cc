//! PSRP messages (MS-PSRP 2.2.1): `Destination` (4 bytes), `MessageType` (4 bytes), the runspace pool's
//! id `RPID` (16 bytes) and the pipeline's id `PID` (16 bytes, all zero for runspace-pool messages), then
//! `Data`: CLIXML in UTF-8, sometimes after a byte-order mark. Integers are little-endian and the ids are
//! GUIDs in their Windows byte order (MS-DTYP 2.3.4.2: the first three fields little-endian).

use uuid::Uuid;

use crate::error::{Error, ErrorKind, Result};

/// Bytes before a message's data.
pub const HEADER_LEN: usize = 40;

/// Who a message is for (MS-PSRP 2.2.1 `Destination`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// 0x00000001: the client.
    Client,
    /// 0x00000002: the server.
    Server,
}

macro_rules! message_types {
    ($($name:ident = $value:literal, $text:literal;)*) => {
        /// The PSRP message types (MS-PSRP 2.2.1 `MessageType`), named as the specification names them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum MessageType {
            $(#[doc = $text] $name,)*
        }

        impl MessageType {
            /// The type of a `MessageType` value; None for a value the specification does not define.
            pub fn from_u32(value: u32) -> Option<MessageType> {
                match value {
                    $($value => Some(MessageType::$name),)*
                    _ => None,
                }
            }

            /// The wire value.
            pub fn value(self) -> u32 {
                match self {
                    $(MessageType::$name => $value,)*
                }
            }

            /// The specification's name, e.g. `PIPELINE_OUTPUT`.
            pub fn name(self) -> &'static str {
                match self {
                    $(MessageType::$name => $text,)*
                }
            }
        }
    };
}

message_types! {
    SessionCapability = 0x0001_0002, "SESSION_CAPABILITY";
    InitRunspacePool = 0x0001_0004, "INIT_RUNSPACEPOOL";
    PublicKey = 0x0001_0005, "PUBLIC_KEY";
    EncryptedSessionKey = 0x0001_0006, "ENCRYPTED_SESSION_KEY";
    PublicKeyRequest = 0x0001_0007, "PUBLIC_KEY_REQUEST";
    ConnectRunspacePool = 0x0001_0008, "CONNECT_RUNSPACEPOOL";
    SetMaxRunspaces = 0x0002_1002, "SET_MAX_RUNSPACES";
    SetMinRunspaces = 0x0002_1003, "SET_MIN_RUNSPACES";
    RunspaceAvailability = 0x0002_1004, "RUNSPACE_AVAILABILITY";
    RunspacePoolState = 0x0002_1005, "RUNSPACEPOOL_STATE";
    CreatePipeline = 0x0002_1006, "CREATE_PIPELINE";
    GetAvailableRunspaces = 0x0002_1007, "GET_AVAILABLE_RUNSPACES";
    UserEvent = 0x0002_1008, "USER_EVENT";
    ApplicationPrivateData = 0x0002_1009, "APPLICATION_PRIVATE_DATA";
    GetCommandMetadata = 0x0002_100A, "GET_COMMAND_METADATA";
    RunspacePoolInitData = 0x0002_100B, "RUNSPACEPOOL_INIT_DATA";
    ResetRunspaceState = 0x0002_100C, "RESET_RUNSPACE_STATE";
    RunspacePoolHostCall = 0x0002_1100, "RUNSPACEPOOL_HOST_CALL";
    RunspacePoolHostResponse = 0x0002_1101, "RUNSPACEPOOL_HOST_RESPONSE";
    PipelineInput = 0x0004_1002, "PIPELINE_INPUT";
    EndOfPipelineInput = 0x0004_1003, "END_OF_PIPELINE_INPUT";
    PipelineOutput = 0x0004_1004, "PIPELINE_OUTPUT";
    ErrorRecord = 0x0004_1005, "ERROR_RECORD";
    PipelineState = 0x0004_1006, "PIPELINE_STATE";
    DebugRecord = 0x0004_1007, "DEBUG_RECORD";
    VerboseRecord = 0x0004_1008, "VERBOSE_RECORD";
    WarningRecord = 0x0004_1009, "WARNING_RECORD";
    ProgressRecord = 0x0004_1010, "PROGRESS_RECORD";
    InformationRecord = 0x0004_1011, "INFORMATION_RECORD";
    PipelineHostCall = 0x0004_1100, "PIPELINE_HOST_CALL";
    PipelineHostResponse = 0x0004_1101, "PIPELINE_HOST_RESPONSE";
}

/// One PSRP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who it is for.
    pub destination: Destination,
    /// What it is.
    pub message_type: MessageType,
    /// The runspace pool it belongs to.
    pub runspace_pool: Uuid,
    /// The pipeline it belongs to; nil for the runspace pool's own messages.
    pub pipeline: Uuid,
    /// The CLIXML, in UTF-8 (without a byte-order mark).
    pub data: Vec<u8>,
}

/// The UTF-8 byte-order mark some senders put before a message's data.
const BOM: &[u8] = b"\xEF\xBB\xBF";

impl Message {
    /// The message's bytes on the wire (its data without a byte-order mark, as PowerShell sends it).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.data.len());
        out.extend_from_slice(&match self.destination {
            Destination::Client => 1u32,
            Destination::Server => 2u32,
        }.to_le_bytes());
        out.extend_from_slice(&self.message_type.value().to_le_bytes());
        out.extend_from_slice(&self.runspace_pool.to_bytes_le());
        out.extend_from_slice(&self.pipeline.to_bytes_le());
        out.extend_from_slice(&self.data);
        out
    }

    /// Reads a message from its bytes (a whole defragmented object); a byte-order mark before the data
    /// is dropped. Errors (BadReply): fewer than 40 bytes, an unknown destination or message type.
    pub fn decode(bytes: &[u8]) -> Result<Message> {
        if bytes.len() < HEADER_LEN {
            return Err(bad(format!("a message of {} bytes is shorter than its {HEADER_LEN}-byte header", bytes.len())));
        }
        let destination = match u32::from_le_bytes(bytes[0..4].try_into().unwrap()) {
            1 => Destination::Client,
            2 => Destination::Server,
            other => return Err(bad(format!("unknown destination {other:#x}"))),
        };
        let value = u32::from_le_bytes(bytes[4..8].try_into().unwrap());
        let message_type = MessageType::from_u32(value).ok_or_else(|| bad(format!("unknown message type {value:#010x}")))?;
        let data = &bytes[HEADER_LEN..];
        Ok(Message {
            destination,
            message_type,
            runspace_pool: Uuid::from_bytes_le(bytes[8..24].try_into().unwrap()),
            pipeline: Uuid::from_bytes_le(bytes[24..40].try_into().unwrap()),
            data: data.strip_prefix(BOM).unwrap_or(data).to_vec(),
        })
    }
}

fn bad(what: String) -> Error {
    Error::new(ErrorKind::BadReply, format!("Malformed PSRP message: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_ids_use_the_windows_byte_order() {
        let rpid = Uuid::parse_str("00112233-4455-6677-8899-aabbccddeeff").unwrap();
        let m = Message { destination: Destination::Server, message_type: MessageType::CreatePipeline, runspace_pool: rpid, pipeline: Uuid::nil(), data: b"<Obj/>".to_vec() };
        let bytes = m.encode();
        assert_eq!(&bytes[..8], &[2, 0, 0, 0, 0x06, 0x10, 0x02, 0x00]);
        assert_eq!(&bytes[8..16], &[0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66]);
        assert_eq!(Message::decode(&bytes).unwrap(), m);
        let with_bom = [&bytes[..HEADER_LEN], BOM, b"<Obj/>"].concat();
        assert_eq!(Message::decode(&with_bom).unwrap().data, b"<Obj/>");
    }

    #[test]
    fn bad_headers_are_errors() {
        assert!(Message::decode(&[0; 39]).unwrap_err().message.contains("shorter"));
        let mut bytes = vec![0u8; 40];
        bytes[0] = 3;
        assert!(Message::decode(&bytes).unwrap_err().message.contains("destination"));
        bytes[0] = 1;
        bytes[4] = 0x99;
        assert!(Message::decode(&bytes).unwrap_err().message.contains("message type 0x00000099"));
        for t in [MessageType::SessionCapability, MessageType::PipelineHostResponse, MessageType::ProgressRecord] {
            assert_eq!(MessageType::from_u32(t.value()), Some(t));
        }
        assert_eq!(MessageType::InformationRecord.name(), "INFORMATION_RECORD");
    }
}

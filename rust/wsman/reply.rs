//! Reading WS-Management replies (DSP0226): the SOAP envelope, faults (with the CIM error of DSP0227
//! §7.8 or Windows' `f:WSManFault`/`__ExtendedStatus`), Identify, and enumeration pages. Sans-IO.

use super::{NS_ADDRESSING, NS_ENUMERATION, NS_IDENTITY, NS_SOAP, NS_WSMAN, NS_WSMAN_FAULT};
use crate::error::{Error, ErrorKind, Result};
use crate::xml::{Document, Element};

/// A parsed reply envelope.
#[derive(Debug)]
pub struct Reply {
    document: Document,
}

impl Reply {
    /// Parses `text` as a SOAP 1.2 envelope. Errors: BadReply when it is not XML or not an envelope.
    pub fn parse(text: String) -> Result<Reply> {
        let document = Document::parse(text, "The server's reply").map_err(|e| Error::new(ErrorKind::BadReply, e.message))?;
        let root = document.root();
        if !root.is(NS_SOAP, "Envelope") {
            return Err(Error::new(ErrorKind::BadReply, format!("The server's reply is not a SOAP envelope (its root is '{}')", root.name())));
        }
        Ok(Reply { document })
    }

    /// The `s:Body` element, if the envelope has one.
    pub fn body(&self) -> Option<Element<'_>> {
        self.document.root().child(NS_SOAP, "Body")
    }

    /// The body's first element, if any.
    pub fn payload(&self) -> Option<Element<'_>> {
        self.body()?.children().next()
    }

    /// `wsa:Action` of the header.
    pub fn action(&self) -> Option<&str> {
        self.document.root().child(NS_SOAP, "Header")?.child(NS_ADDRESSING, "Action").map(|a| a.trimmed())
    }

    /// The fault this reply carries, if it is one.
    pub fn fault(&self) -> Option<Fault> {
        self.body()?.child(NS_SOAP, "Fault").map(Fault::read)
    }

    /// The reply as the answer to a successful request: a fault becomes its error.
    pub fn ok(self) -> Result<Reply> {
        match self.fault() {
            Some(fault) => Err(fault.into_error()),
            None => Ok(self),
        }
    }
}

/// A SOAP fault as WS-Management servers send it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// `s:Code/s:Value`, e.g. `s:Sender`.
    pub code: String,
    /// `s:Subcode/s:Value`, e.g. `wsa:DestinationUnreachable` or `w:AccessDenied`.
    pub subcode: Option<String>,
    /// `s:Reason/s:Text`, cut to [`MAX_SERVER_TEXT`] bytes as every text of the server's here is.
    pub reason: String,
    /// `w:FaultDetail`, e.g. `…/faultDetail/InvalidResourceURI`.
    pub detail: Option<String>,
    /// The CIM status from a CIM error instance (`CIMStatusCode`) or Windows' `__ExtendedStatus/StatusCode`
    /// mapped from its WMI code.
    pub cim_status: Option<u32>,
    /// The most specific message the detail has (the provider's), else the reason.
    pub message: String,
    /// `f:WSManFault/@Code` of Windows' fault detail (MS-WSMV 2.2.4.43): a Windows error code such as
    /// 0x80338029 (the operation timed out) or a Win32 code such as 87.
    pub wsman_code: Option<u32>,
}

impl Fault {
    /// Reads a fault; each text of the server's is cut to [`MAX_SERVER_TEXT`] bytes as it is copied.
    fn read(fault: Element<'_>) -> Fault {
        let value = |e: Option<Element<'_>>| e.and_then(|e| e.child(NS_SOAP, "Value")).map(|v| server_text(v.trimmed()));
        let code_el = fault.child(NS_SOAP, "Code");
        let code = value(code_el).unwrap_or_default();
        let subcode = value(code_el.and_then(|c| c.child(NS_SOAP, "Subcode")));
        let reason = fault
            .child(NS_SOAP, "Reason")
            .and_then(|r| r.child(NS_SOAP, "Text"))
            .map(|t| server_text(t.trimmed()))
            .unwrap_or_default();
        let detail_el = fault.child(NS_SOAP, "Detail");
        let detail = detail_el.and_then(|d| d.child_local("FaultDetail")).map(|d| server_text(d.trimmed()));
        let mut cim_status = None;
        let mut message = None;
        let mut wsman_code = None;
        if let Some(d) = detail_el {
            for e in d.children() {
                if e.name().ends_with("_Error") || e.children().any(|c| c.name() == "CIMStatusCode") {
                    // A CIM_Error instance (DSP0227 §7.8; OMI sends OMI_Error).
                    cim_status = e.child_local("CIMStatusCode").and_then(|c| c.trimmed().parse().ok());
                    message = e.child_local("Message").map(|m| server_text(m.trimmed())).filter(|m| !m.is_empty());
                } else if e.is(NS_WSMAN_FAULT, "WSManFault") {
                    wsman_code = wsman_code.or_else(|| e.attr("", "Code").and_then(|c| c.trim().parse::<u32>().ok()));
                    let (status, text) = windows_fault(e);
                    cim_status = cim_status.or(status);
                    message = message.or(text);
                }
            }
        }
        let message = message.unwrap_or_else(|| reason.clone());
        Fault { code, subcode, reason, detail, cim_status, message, wsman_code }
    }

    /// The error for this fault: its kind from the CIM status, else from the WS-Management subcode.
    pub fn into_error(self) -> Error {
        let kind = self
            .cim_status
            .and_then(kind_of_cim_status)
            .or_else(|| self.subcode.as_deref().and_then(kind_of_subcode))
            .unwrap_or(ErrorKind::Fault);
        let mut message = server_text(&self.message);
        if let Some(status) = self.cim_status {
            message = format!("{message} (CIM status {status})");
        }
        let fault_code = server_text(self.subcode.as_deref().unwrap_or(&self.code));
        Error { kind, message, cim_status: self.cim_status, fault_code: Some(fault_code), http_status: None }
    }
}

/// Most bytes of a server's own text (a fault's message or code) an error carries.
pub const MAX_SERVER_TEXT: usize = 4096;

/// `text` cut to [`MAX_SERVER_TEXT`] bytes at a character boundary, with `…` where it was cut, so a
/// hostile server's 50 MB reason does not become a 50 MB error message.
fn server_text(text: &str) -> String {
    if text.len() <= MAX_SERVER_TEXT {
        return text.to_string();
    }
    let mut end = MAX_SERVER_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Windows' `f:WSManFault`: the innermost message, and a CIM status from the WMI error in
/// `__ExtendedStatus/StatusCode` (0x8004xxxx) when there is one.
fn windows_fault(fault: Element<'_>) -> (Option<u32>, Option<String>) {
    let mut status = None;
    let mut text = None;
    let mut stack = vec![fault];
    while let Some(e) = stack.pop() {
        if e.name() == "Message" && !e.trimmed().is_empty() {
            text = Some(server_text(e.trimmed()));
        }
        if e.name() == "__ExtendedStatus" {
            status = e.child_local("StatusCode").and_then(|c| c.trimmed().parse::<u32>().ok()).and_then(cim_status_of_wmi);
            if let Some(d) = e.child_local("Description").map(|d| d.trimmed()).filter(|d| !d.is_empty()) {
                text = Some(server_text(d));
            }
        }
        let children: Vec<Element<'_>> = e.children().collect();
        stack.extend(children.into_iter().rev());
    }
    (status, text)
}

/// The CIM status for a WMI error code (`WBEM_E_*`), for the common ones.
fn cim_status_of_wmi(code: u32) -> Option<u32> {
    Some(match code {
        0x8004_1001 => 1,  // generic failure
        0x8004_1003 => 2,  // access denied
        0x8004_100E => 3,  // invalid namespace
        0x8004_1008 => 4,  // invalid parameter
        0x8004_1010 => 5,  // invalid class
        0x8004_1002 => 6,  // not found
        0x8004_100C => 7,  // not supported
        0x8004_1019 => 11, // already exists
        0x8004_1017 => 15, // invalid query
        0x8004_102E => 17, // invalid method: the class defines no such method
        0x8004_1055 => 16, // method not implemented: declared, not available
        _ => return None,
    })
}

/// The error kind of a CIM status (DSP0004 Annex / DSP0227 §7.8), where one fits.
pub fn kind_of_cim_status(status: u32) -> Option<ErrorKind> {
    Some(match status {
        2 => ErrorKind::AccessDenied,
        3 => ErrorKind::InvalidNamespace,
        4 => ErrorKind::InvalidArgument,
        5 => ErrorKind::InvalidClass,
        6 => ErrorKind::NotFound,
        7 => ErrorKind::NotSupported,
        11 => ErrorKind::AlreadyExists,
        12 | 13 => ErrorKind::InvalidArgument,
        14 => ErrorKind::NotSupported,
        15 => ErrorKind::InvalidQuery,
        16 | 17 => ErrorKind::MethodNotFound,
        _ => return None,
    })
}

fn kind_of_subcode(subcode: &str) -> Option<ErrorKind> {
    let local = subcode.rsplit(':').next().unwrap_or(subcode);
    Some(match local {
        "AccessDenied" => ErrorKind::AccessDenied,
        "TimedOut" => ErrorKind::Timeout,
        "CannotProcessFilter" => ErrorKind::InvalidQuery,
        "InvalidSelectors" | "InvalidParameter" => ErrorKind::InvalidArgument,
        "AlreadyExists" => ErrorKind::AlreadyExists,
        "ActionNotSupported" | "UnsupportedFeature" | "FilterDialectRequestedUnavailable" => ErrorKind::NotSupported,
        _ => return None,
    })
}

/// What an Identify reply says about the server (DSP0226 §11).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    pub protocol_version: String,
    pub product_vendor: String,
    pub product_version: String,
}

/// Reads an IdentifyResponse. Errors: the fault, or BadReply for another reply.
pub fn identity(reply: Reply) -> Result<Identity> {
    let reply = reply.ok()?;
    // OMI puts IdentifyResponse in the SOAP namespace, others in the identity namespace.
    let r = reply
        .body()
        .and_then(|b| b.child_local("IdentifyResponse"))
        .ok_or_else(|| Error::new(ErrorKind::BadReply, "The server's reply to Identify is not an IdentifyResponse"))?;
    let text = |name: &str| r.child(NS_IDENTITY, name).map(|e| e.trimmed().to_string()).unwrap_or_default();
    Ok(Identity { protocol_version: text("ProtocolVersion"), product_vendor: text("ProductVendor"), product_version: text("ProductVersion") })
}

/// One EnumerateResponse or PullResponse: the items, the context to pull next, and whether the
/// sequence ended. OMI returns a context even with EndOfSequence; `context` is None after the end. A
/// PullResponse may leave the context out to mean "the same context again" (WS-Enumeration §3.2).
#[derive(Debug)]
pub struct Page {
    document: Document,
    /// The items' elements in the document, in order.
    items: Vec<u32>,
    pub context: Option<String>,
    pub end_of_sequence: bool,
}

impl Page {
    /// How many items the page holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the page holds no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Item `n` (from 0). Panics when `n` is not below [`Page::len`].
    pub fn item(&self, n: usize) -> Element<'_> {
        self.document.element(self.items[n])
    }

    /// The items in order.
    pub fn items(&self) -> impl Iterator<Item = Element<'_>> + '_ {
        self.items.iter().map(|&i| self.document.element(i))
    }
}

/// Reads an EnumerateResponse or PullResponse. Errors: the fault, or BadReply for another reply.
pub fn page(reply: Reply) -> Result<Page> {
    let reply = reply.ok()?;
    let response = reply
        .body()
        .and_then(|b| b.children().find(|c| c.is(NS_ENUMERATION, "EnumerateResponse") || c.is(NS_ENUMERATION, "PullResponse")));
    let Some(response) = response else {
        return Err(Error::new(ErrorKind::BadReply, "The server's reply is neither an EnumerateResponse nor a PullResponse"));
    };
    let end_of_sequence = response.child(NS_WSMAN, "EndOfSequence").is_some() || response.child(NS_ENUMERATION, "EndOfSequence").is_some();
    let context = response
        .child(NS_ENUMERATION, "EnumerationContext")
        .map(|c| c.trimmed().to_string())
        .filter(|c| !c.is_empty() && !end_of_sequence);
    let items: Vec<u32> = response
        .children()
        .find(|c| c.name() == "Items" && (c.ns() == NS_WSMAN || c.ns() == NS_ENUMERATION))
        .map(|items| items.children().map(|i| i.index()).collect())
        .unwrap_or_default();
    if !end_of_sequence && context.is_none() && response.name() == "EnumerateResponse" {
        return Err(Error::new(ErrorKind::BadReply, "The server's EnumerateResponse has neither an EnumerationContext nor EndOfSequence"));
    }
    Ok(Page { document: reply.document, items, context, end_of_sequence })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_fault_reason_is_cut_in_the_error() {
        let reason = "é".repeat(100_000);
        let xml = format!(
            r#"<s:Envelope xmlns:s="{NS_SOAP}"><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value></s:Code><s:Reason><s:Text xml:lang="en-US">{reason}</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>"#
        );
        let fault = Reply::parse(xml).unwrap().fault().unwrap();
        assert!(fault.reason.len() <= MAX_SERVER_TEXT + 3, "the fault keeps {} bytes of reason", fault.reason.len());
        let error = fault.into_error();
        assert_eq!(error.kind, ErrorKind::Fault);
        assert!(error.message.len() <= MAX_SERVER_TEXT + 3 && error.message.ends_with('…'), "{} bytes", error.message.len());
        assert_eq!(error.fault_code.as_deref(), Some("s:Receiver"));
    }

    #[test]
    fn wmi_error_codes_become_cim_statuses() {
        // WBEM_E_INVALID_METHOD: what Windows answers for a method the class does not define.
        assert_eq!(cim_status_of_wmi(0x8004_102E), Some(17));
        assert_eq!(kind_of_cim_status(17), Some(ErrorKind::MethodNotFound));
        // WBEM_E_METHOD_NOT_IMPLEMENTED: declared, but not available.
        assert_eq!(cim_status_of_wmi(0x8004_1055), Some(16));
        assert_eq!(cim_status_of_wmi(0x8004_1010), Some(5));
        assert_eq!(cim_status_of_wmi(0x8007_0005), None);
    }
}

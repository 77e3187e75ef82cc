//! WS-Management (DMTF DSP0226) with the CIM binding (DSP0227) and Microsoft's extensions (MS-WSMV).
//! Sans-IO: envelopes to send ([`envelope`]), replies and faults to read ([`reply`], over
//! [`crate::xml`]), CIM instances and classes on the wire ([`binding`]). With I/O: an endpoint and its
//! requests ([`endpoint`], over the pooled HTTP transport), and the CIM operations on it ([`cim`],
//! [`enumeration`], [`schema`]). [`options`] holds the session options that choose and shape them.
//! [`shell`]: the WinRS shell operations PowerShell remoting uses (sans-IO).

pub mod binding;
pub mod cim;
pub mod endpoint;
pub mod enumeration;
pub mod envelope;
pub mod options;
pub mod reply;
pub mod schema;
pub mod shell;

/// SOAP 1.2 envelope.
pub const NS_SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
/// WS-Addressing (2004/08), as WS-Management uses it.
pub const NS_ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
/// WS-Enumeration (2004/09).
pub const NS_ENUMERATION: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration";
/// WS-Transfer (2004/09): Create's `ResourceCreated`.
pub const NS_TRANSFER: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer";
/// WS-Management (DSP0226).
pub const NS_WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
/// WS-Management Identify (DSP0226 §11).
pub const NS_IDENTITY: &str = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd";
/// Microsoft's WS-Management extensions (MS-WSMV), prefix `p` in requests.
pub const NS_MSWSMAN: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd";
/// Windows' fault detail (`f:WSManFault`).
pub const NS_WSMAN_FAULT: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault";
/// XML Schema instance (`xsi:nil`, `xsi:type`).
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// The WS-CIM common schema (`cim:Datetime`, `cim:Interval`, `cim:cimString`, …; DSP0230).
pub const NS_CIM_COMMON: &str = "http://schemas.dmtf.org/wbem/wscim/1/common";
/// The WS-Management CIM binding schema (association filters, `IsCIM_Error`; DSP0227).
pub const NS_CIM_BINDING: &str = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd";
/// The selector naming the CIM namespace (DSP0227 §7.1).
pub const NAMESPACE_SELECTOR: &str = "__cimnamespace";

//! The PowerShell Remoting Protocol (MS-PSRP) as a client speaks it, sans-IO: nothing here reads or
//! writes a socket or starts a thread; the caller moves the bytes (OutOfProc packets over a process or
//! ssh, WinRS Send/Receive over WS-Management) and pumps the core.
//!
//! - [`fragment`]: messages as fragments (2.2.4), out under a byte budget and back from any split;
//! - [`message`]: the message header (2.2.1) and the message types;
//! - [`clixml`]: the objects messages carry (2.2.5), read into and written from a typed tree;
//! - [`request`]: what a client's messages hold (2.2.2), as PowerShell's client writes them;
//! - [`session_key`]: the SecureString session key exchange (3.1.5.4), client side;
//! - [`pool`]: a runspace pool and its pipelines, client side (3.1): requests in, fragments out,
//!   fragments in, events out;
//! - [`reconstruct`]: a client that opens pools, connected to a pool another client disconnected;
//! - [`outofproc`]: the line framing of PSRP over a server process or ssh;
//! - [`capture`]: recorded traffic (WinRS envelopes, OutOfProc lines) back into messages.

pub mod capture;
pub mod clixml;
pub mod fragment;
pub mod message;
pub mod outofproc;
pub mod pool;
pub mod reconstruct;
pub mod request;
pub mod session_key;

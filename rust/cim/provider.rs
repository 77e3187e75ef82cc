//! What a CIM session does, whoever serves it: the one trait ([`CimProvider`]) that this machine's
//! in-process provider (`crate::local`) and the WS-Management client (`crate::wsman::cim`) implement,
//! and the values its operations take and give (spec/cmdlet-behaviour.md §1.7–§1.9).
//!
//! Namespaces are in slash or backslash form (`root/cimv2`); class and property names are matched
//! case-insensitively by every provider. Operations block the calling thread; a [`Cancel`] given to
//! one stops it from another thread.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use super::class::ClassSchema;
use super::{CimInstance, CimProperty};
use crate::cancel::Cancel;
use crate::error::Result;

/// How an operation reads instances (Get-CimInstance -KeyOnly / -Shallow, spec §1.7).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OperationFlags {
    /// Only key properties.
    pub keys_only: bool,
    /// Only instances whose class is exactly the class asked for, not its subclasses.
    pub shallow: bool,
}

/// Which side of an association Get-CimAssociatedInstance asks for (DSP0227 §8.2; WQL's ASSOCIATORS OF
/// and REFERENCES OF), each name optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Association {
    /// The instances associated with the source (`b:AssociatedInstances`; WQL's ASSOCIATORS OF):
    /// through instances of `association_class`, the source playing `role`, results of class
    /// `result_class` playing `result_role`.
    Associated { association_class: Option<String>, role: Option<String>, result_class: Option<String>, result_role: Option<String> },
    /// The association instances that refer to the source (`b:AssociationInstances`; WQL's REFERENCES
    /// OF): of class `result_class`, the source playing `role`.
    References { result_class: Option<String>, role: Option<String> },
}

/// A source of instances that arrive one at a time (e.g. page by page from a server).
pub trait InstanceStream: Send {
    /// The next instance, or None at the end. Errors: what the server or transport reports.
    fn next(&mut self) -> Result<Option<CimInstance>>;
}

/// The instances of an operation, handed out one at a time: all at hand, or streaming.
pub enum Instances {
    /// All read already (the local provider), handed out in order.
    Ready(VecDeque<CimInstance>),
    /// Arriving as the caller reads (a WS-Management enumeration, page by page).
    Stream(Box<dyn InstanceStream>),
}

impl Instances {
    /// The next instance, or None at the end. Errors: what the server or transport reports.
    pub fn next(&mut self) -> Result<Option<CimInstance>> {
        match self {
            Instances::Ready(items) => Ok(items.pop_front()),
            Instances::Stream(s) => s.next(),
        }
    }
}

impl From<Vec<CimInstance>> for Instances {
    fn from(items: Vec<CimInstance>) -> Self {
        Instances::Ready(items.into())
    }
}

/// The operations of a CIM session (spec §1.7–§1.9). Thread-safe; shared by the sessions and ad hoc
/// calls that use one endpoint. `keys` name an instance: (key property name, value as text).
pub trait CimProvider: Send + Sync + fmt::Debug {
    /// The session's `Protocol` as New-CimSession shows it: `Local` or `WSMAN` (spec §1.1).
    fn protocol_name(&self) -> &'static str;

    /// The name instances and classes carry as their server (`PSComputerName`, `CimSystemProperties.ServerName`).
    fn server_name(&self) -> String;

    /// Checks that the server answers (New-CimSession's test connection unless -SkipTestConnection).
    /// Errors: a server's faults, network errors.
    fn test_connection(&self) -> Result<()> {
        Ok(())
    }

    /// Instances of `class_name`, deep unless `flags.shallow`. Errors: InvalidNamespace, InvalidClass,
    /// Io; a server's faults, network errors, Cancelled.
    fn enumerate(&self, namespace: &str, class_name: &str, flags: OperationFlags, cancel: Option<Arc<Cancel>>) -> Result<Instances>;

    /// Runs a query in `dialect` (`WQL`, and where the provider supports it `CQL`; case-insensitive).
    /// Errors: NotSupported (the dialect), InvalidQuery, InvalidNamespace, InvalidClass; a server's
    /// faults, network errors, Cancelled.
    fn query(&self, namespace: &str, dialect: &str, text: &str, flags: OperationFlags, cancel: Option<Arc<Cancel>>) -> Result<Instances>;

    /// The instances associated with (or the associations referring to) the instance of `class_name`
    /// with `keys` (Get-CimAssociatedInstance, spec §1.8). Errors: InvalidNamespace, InvalidClass,
    /// NotFound; a server's faults, network errors, Cancelled.
    fn associated(&self, namespace: &str, class_name: &str, keys: &[(String, String)], association: &Association, flags: OperationFlags, cancel: Option<Arc<Cancel>>) -> Result<Instances>;

    /// The instance of `class_name` with `keys` (Get-CimInstance -InputObject).
    /// Errors: NotFound, InvalidClass, InvalidNamespace; a server's faults, network errors, Cancelled.
    fn get(&self, namespace: &str, class_name: &str, keys: &[(String, String)], cancel: Option<&Cancel>) -> Result<CimInstance>;

    /// Creates an instance with `properties` (New-CimInstance) and returns it as the server has it.
    /// Errors: NotSupported (a read-only provider), AlreadyExists; a server's faults, network errors.
    fn create_instance(&self, namespace: &str, class_name: &str, properties: &[CimProperty], cancel: Option<&Cancel>) -> Result<CimInstance>;

    /// Changes the instance with `keys` to `properties` (Set-CimInstance); returns it as it now is.
    /// Errors: as [`CimProvider::create_instance`], and NotFound.
    fn modify_instance(&self, namespace: &str, class_name: &str, keys: &[(String, String)], properties: &[CimProperty], cancel: Option<&Cancel>) -> Result<CimInstance>;

    /// Deletes the instance with `keys` (Remove-CimInstance). Errors: as [`CimProvider::create_instance`],
    /// and NotFound.
    fn delete_instance(&self, namespace: &str, class_name: &str, keys: &[(String, String)], cancel: Option<&Cancel>) -> Result<()>;

    /// Invokes `method` on the instance with `keys`, or statically when `keys` is empty, with the
    /// in-parameters `params` (Invoke-CimMethod). The result holds `ReturnValue` and the
    /// out-parameters. Errors: MethodNotFound, NotFound; a server's faults, network errors, Cancelled.
    fn invoke(&self, namespace: &str, class_name: &str, keys: &[(String, String)], method: &str, params: &[CimProperty], cancel: Option<&Cancel>) -> Result<CimInstance>;

    /// The declaration of `class_name` (Get-CimClass). Errors: InvalidNamespace, InvalidClass; a
    /// server's faults, network errors, Cancelled.
    fn get_class(&self, namespace: &str, class_name: &str, cancel: Option<&Cancel>) -> Result<Arc<ClassSchema>>;

    /// Every class declaration in `namespace` (Get-CimClass with a wildcard). Errors: InvalidNamespace;
    /// a server's faults (not every server enumerates classes), network errors, Cancelled.
    fn classes(&self, namespace: &str, cancel: Option<Arc<Cancel>>) -> Result<Vec<ClassSchema>>;

    /// The names of the classes in `namespace` (tab completion). Errors: as [`CimProvider::classes`].
    fn class_names(&self, namespace: &str) -> Result<Vec<String>> {
        Ok(self.classes(namespace, None)?.into_iter().map(|c| c.name).collect())
    }
}

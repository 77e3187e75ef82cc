//! This machine's provider as a CIM session's [`CimProvider`]: reads go to the functions of this
//! module's parent; writes are refused (the provider only reads /proc, /sys and /etc); it serves no
//! association classes; Win32_Process declares the methods that have a meaning here.

use std::sync::Arc;

use super::system::Machine;
use crate::cancel::Cancel;
use crate::cim::class::ClassSchema;
use crate::cim::provider::{Association, CimProvider, Instances, OperationFlags};
use crate::cim::wql::{self, CompareOp, Condition, Literal};
use crate::cim::{CimInstance, CimProperty};
use crate::error::{Error, ErrorKind, Result};

/// The in-process provider of `root/cimv2` (a CIM session without -ComputerName). Stateless.
#[derive(Debug, Default)]
pub struct LocalProvider;

impl LocalProvider {
    fn read_only(what: &str) -> Error {
        Error::new(ErrorKind::NotSupported, format!("{what} is not supported on this machine: its provider only reads /proc, /sys and /etc"))
    }
}

impl CimProvider for LocalProvider {
    fn protocol_name(&self) -> &'static str {
        "Local"
    }

    fn server_name(&self) -> String {
        Machine::read().hostname
    }

    fn enumerate(&self, namespace: &str, class_name: &str, flags: OperationFlags, _cancel: Option<Arc<Cancel>>) -> Result<Instances> {
        Ok(super::enumerate(namespace, class_name, flags)?.into())
    }

    /// WQL only, parsed and run here.
    fn query(&self, namespace: &str, dialect: &str, text: &str, flags: OperationFlags, _cancel: Option<Arc<Cancel>>) -> Result<Instances> {
        if !dialect.eq_ignore_ascii_case("WQL") {
            return Err(Error::new(ErrorKind::NotSupported, format!("Query dialect '{dialect}' is not supported here; use WQL")));
        }
        Ok(super::query(namespace, &wql::parse(text)?, flags)?.into())
    }

    /// No association classes are served: after checking the namespace and every class named, the
    /// answer is no instances.
    fn associated(&self, namespace: &str, class_name: &str, _keys: &[(String, String)], association: &Association, _flags: OperationFlags, _cancel: Option<Arc<Cancel>>) -> Result<Instances> {
        let served = super::class_names(namespace)?;
        let mut named = vec![class_name];
        match association {
            Association::Associated { association_class, result_class, .. } => named.extend([association_class, result_class].into_iter().flatten().map(String::as_str)),
            Association::References { result_class, .. } => named.extend(result_class.as_deref()),
        }
        for class in named.into_iter().filter(|c| !c.is_empty()) {
            if !served.iter().any(|s| s.eq_ignore_ascii_case(class)) {
                return Err(Error::invalid_class(class));
            }
        }
        Ok(Vec::new().into())
    }

    /// A query on the keys, built as a condition tree (never as query text, so no key name or value
    /// can change what is asked).
    fn get(&self, namespace: &str, class_name: &str, keys: &[(String, String)], _cancel: Option<&Cancel>) -> Result<CimInstance> {
        let condition = keys
            .iter()
            .map(|(name, value)| Condition::Compare { property: name.clone(), op: CompareOp::Eq, literal: Literal::String(value.clone()) })
            .reduce(|all, next| Condition::And(Box::new(all), Box::new(next)));
        let query = wql::Query { class_name: class_name.to_string(), properties: None, condition };
        super::query(namespace, &query, OperationFlags::default())?
            .into_iter()
            .next()
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("Not found: no {class_name} instance has those keys")))
    }

    fn create_instance(&self, _namespace: &str, _class_name: &str, _properties: &[CimProperty], _cancel: Option<&Cancel>) -> Result<CimInstance> {
        Err(Self::read_only("Creating instances"))
    }

    fn modify_instance(&self, _namespace: &str, _class_name: &str, _keys: &[(String, String)], _properties: &[CimProperty], _cancel: Option<&Cancel>) -> Result<CimInstance> {
        Err(Self::read_only("Changing instances"))
    }

    fn delete_instance(&self, _namespace: &str, _class_name: &str, _keys: &[(String, String)], _cancel: Option<&Cancel>) -> Result<()> {
        Err(Self::read_only("Deleting instances"))
    }

    /// Win32_Process's Terminate and GetOwner run here; other methods are MethodNotFound.
    fn invoke(&self, namespace: &str, class_name: &str, keys: &[(String, String)], method: &str, _params: &[CimProperty], cancel: Option<&Cancel>) -> Result<CimInstance> {
        let target = if keys.is_empty() { None } else { Some(self.get(namespace, class_name, keys, cancel)?) };
        super::invoke(namespace, class_name, keys, method, target.as_ref())
    }

    fn get_class(&self, namespace: &str, class_name: &str, _cancel: Option<&Cancel>) -> Result<Arc<ClassSchema>> {
        Ok(Arc::new(super::class(namespace, class_name)?))
    }

    fn classes(&self, namespace: &str, _cancel: Option<Arc<Cancel>>) -> Result<Vec<ClassSchema>> {
        super::classes(namespace)
    }

    fn class_names(&self, namespace: &str) -> Result<Vec<String>> {
        super::class_names(namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_name_cannot_widen_a_get() {
        let me = std::process::id().to_string();
        let mine = LocalProvider.get("root/cimv2", "Win32_Process", &[("ProcessId".into(), me.clone())], None).unwrap();
        assert_eq!(mine.property("ProcessId").map(|p| p.value.to_text()), Some(Some(me)));
        let sneaky = [("ProcessId = 1 OR Name".to_string(), "x".to_string())];
        assert_eq!(LocalProvider.get("root/cimv2", "Win32_Process", &sneaky, None).unwrap_err().kind, ErrorKind::NotFound);
        let quoted = [("ProcessId".to_string(), "1' OR ProcessId = '1".to_string())];
        assert_eq!(LocalProvider.get("root/cimv2", "Win32_Process", &quoted, None).unwrap_err().kind, ErrorKind::NotFound);
    }
}

//! The local provider: `root/cimv2` of this machine, read from /proc, /sys and /etc (DESIGN.md
//! "Where the Windows behaviour has no Linux meaning").
//!
//! Each served class is a Win32_ class with its CIM_ ancestry, so `CIM_Process` (deep) yields the
//! `Win32_Process` instances as on Windows. Values use Windows' property names and CIM types; where Linux
//! has no value the property is null. Filtering and projection of queries happen here, before anything
//! crosses the C ABI.

mod bios;
mod cim_error;
mod computer;
mod disk;
mod os;
mod process;
mod processor;
mod service;
pub mod provider;
pub(crate) mod system;

use crate::cim::class::{qualifier, ClassSchema, MethodSchema, PropertySchema};
use crate::cim::provider::OperationFlags;
use crate::cim::{wql, CimInstance, CimValue};
use crate::error::{Error, Result};


/// A class this provider serves: its name, superclasses (nearest first), how to read its instances,
/// the methods it declares, and for a class without instances its declared properties.
struct ClassDef {
    name: &'static str,
    superclasses: &'static [&'static str],
    read: fn(&system::Machine) -> Result<Vec<CimInstance>>,
    methods: fn() -> Vec<MethodSchema>,
    /// The properties of a class that has no instances to read them from (None: from its instances).
    declared: Option<fn() -> Vec<PropertySchema>>,
}

fn no_methods() -> Vec<MethodSchema> {
    Vec::new()
}

const fn served(name: &'static str, superclasses: &'static [&'static str], read: fn(&system::Machine) -> Result<Vec<CimInstance>>) -> ClassDef {
    ClassDef { name, superclasses, read, methods: no_methods, declared: None }
}

const CLASSES: &[ClassDef] = &[
    served("Win32_OperatingSystem", os::SUPERCLASSES, os::read),
    served("Win32_ComputerSystem", computer::SUPERCLASSES, computer::read),
    served("Win32_BIOS", bios::SUPERCLASSES, bios::read),
    ClassDef { methods: process::methods, ..served("Win32_Process", process::SUPERCLASSES, process::read) },
    served("Win32_LogicalDisk", disk::SUPERCLASSES, disk::read),
    served("Win32_Processor", processor::SUPERCLASSES, processor::read),
    served("Win32_Service", service::SUPERCLASSES, service::read),
    ClassDef { declared: Some(cim_error::declared), ..served("CIM_Error", cim_error::SUPERCLASSES, cim_error::read) },
];

/// The namespace served, in the slash form instances carry.
pub const NAMESPACE: &str = "root/cimv2";

/// Checks `namespace` (`root/cimv2`, `root\cimv2`, any case, optional leading slash).
/// Errors: InvalidNamespace.
fn check_namespace(namespace: &str) -> Result<()> {
    let normal = namespace.trim().trim_start_matches(['/', '\\']).replace('\\', "/");
    if normal.eq_ignore_ascii_case(NAMESPACE) {
        Ok(())
    } else {
        Err(Error::invalid_namespace(namespace))
    }
}

/// Every class name served in `namespace`: the Win32_ classes and their CIM_ ancestors, sorted.
/// Errors: InvalidNamespace.
pub fn class_names(namespace: &str) -> Result<Vec<String>> {
    check_namespace(namespace)?;
    let mut names: Vec<String> = CLASSES
        .iter()
        .flat_map(|c| std::iter::once(c.name).chain(c.superclasses.iter().copied()))
        .map(str::to_string)
        .collect();
    names.sort_by_key(|n| n.to_ascii_lowercase());
    names.dedup();
    Ok(names)
}

/// The classes whose instances answer a request for `class_name`: the class itself and, unless
/// shallow, every served class derived from it. Errors: InvalidClass for a name not served at all.
fn classes_for(class_name: &str, shallow: bool) -> Result<Vec<&'static ClassDef>> {
    let known = CLASSES
        .iter()
        .any(|c| c.name.eq_ignore_ascii_case(class_name) || c.superclasses.iter().any(|s| s.eq_ignore_ascii_case(class_name)));
    if !known {
        return Err(Error::invalid_class(class_name));
    }
    Ok(CLASSES
        .iter()
        .filter(|c| c.name.eq_ignore_ascii_case(class_name) || (!shallow && c.superclasses.iter().any(|s| s.eq_ignore_ascii_case(class_name))))
        .collect())
}

fn read_class(class: &ClassDef, machine: &system::Machine) -> Result<Vec<CimInstance>> {
    let mut instances = (class.read)(machine)?;
    for i in &mut instances {
        i.namespace = NAMESPACE.to_string();
        i.class_name = class.name.to_string();
        i.superclasses = class.superclasses.iter().map(|s| s.to_string()).collect();
        i.server_name = machine.hostname.clone();
    }
    Ok(instances)
}

/// The instances of `class_name` (deep unless `flags.shallow`) in `namespace`.
/// Errors: InvalidNamespace, InvalidClass, Io.
pub fn enumerate(namespace: &str, class_name: &str, flags: OperationFlags) -> Result<Vec<CimInstance>> {
    check_namespace(namespace)?;
    let classes = classes_for(class_name, flags.shallow)?;
    let machine = system::Machine::read();
    let mut out = Vec::new();
    for class in classes {
        out.extend(read_class(class, &machine)?);
    }
    if flags.keys_only {
        out.iter_mut().for_each(keep_keys_only);
    }
    Ok(out)
}

/// Runs a parsed WQL query: the condition filters first, then the projection keeps the key properties
/// and the selected ones (the others become null; the instance still lists every property).
/// Errors: InvalidNamespace, InvalidClass, InvalidQuery (a selected property the class lacks), Io.
pub fn query(namespace: &str, query: &wql::Query, flags: OperationFlags) -> Result<Vec<CimInstance>> {
    let mut instances = enumerate(namespace, &query.class_name, OperationFlags { keys_only: false, ..flags })?;
    if let Some(condition) = &query.condition {
        instances.retain(|i| condition.matches(i));
    }
    if let Some(selected) = &query.properties {
        let declared = instances.first().map(|i| i.properties.iter().map(|p| p.name.clone()).collect::<Vec<_>>());
        if let Some(declared) = declared {
            if let Some(unknown) = selected.iter().find(|s| !declared.iter().any(|d| d.eq_ignore_ascii_case(s))) {
                return Err(Error::invalid_query(format!("class {} has no property '{unknown}'", query.class_name)));
            }
        }
        for i in &mut instances {
            for p in &mut i.properties {
                if !p.key && !selected.iter().any(|s| s.eq_ignore_ascii_case(&p.name)) {
                    p.value = CimValue::Null;
                }
            }
        }
    }
    if flags.keys_only {
        instances.iter_mut().for_each(keep_keys_only);
    }
    Ok(instances)
}

/// The declaration of `class_name` in `namespace` (Get-CimClass), as this provider serves it: a Win32_
/// class declares the properties its instances carry (types and keys as read); a CIM_ ancestor
/// declares the properties every served class derived from it has. Every property is readable
/// (qualifier READ). Win32_Process declares the methods that have a meaning here (Terminate,
/// GetOwner); CIM_Error, which has no instances, declares the DMTF schema's properties.
/// Errors: InvalidNamespace, InvalidClass, Io.
pub fn class(namespace: &str, class_name: &str) -> Result<ClassSchema> {
    check_namespace(namespace)?;
    let machine = system::Machine::read();
    let derived = classes_for(class_name, false)?;
    let mut declared: Option<Vec<PropertySchema>> = None;
    for c in &derived {
        let own = declared_properties(c, &machine)?;
        declared = Some(match declared {
            None => own,
            Some(common) => common.into_iter().filter(|p| own.iter().any(|o| o.name == p.name)).collect(),
        });
    }
    let (name, superclass) = CLASSES
        .iter()
        .find_map(|c| {
            let chain: Vec<&str> = std::iter::once(c.name).chain(c.superclasses.iter().copied()).collect();
            let at = chain.iter().position(|n| n.eq_ignore_ascii_case(class_name))?;
            Some((chain[at].to_string(), chain.get(at + 1).map(|s| s.to_string())))
        })
        .ok_or_else(|| Error::invalid_class(class_name))?;
    let methods = CLASSES.iter().find(|c| c.name.eq_ignore_ascii_case(&name)).map_or_else(Vec::new, |c| (c.methods)());
    Ok(ClassSchema { name, superclass, properties: declared.unwrap_or_default(), methods, ..ClassSchema::default() })
}

/// Every class declaration in `namespace`, in [`class_names`] order. Errors: InvalidNamespace, Io.
pub fn classes(namespace: &str) -> Result<Vec<ClassSchema>> {
    class_names(namespace)?.iter().map(|name| class(namespace, name)).collect()
}

/// The properties a served class's instances carry, as declarations (from its first instance).
fn declared_properties(class: &ClassDef, machine: &system::Machine) -> Result<Vec<PropertySchema>> {
    if let Some(declared) = class.declared {
        return Ok(declared());
    }
    let instances = (class.read)(machine)?;
    let Some(first) = instances.first() else { return Ok(Vec::new()) };
    Ok(first
        .properties
        .iter()
        .map(|p| PropertySchema {
            qualifiers: qualifier::READ | if p.key { qualifier::KEY } else { 0 },
            ..PropertySchema::new(p.name.clone(), p.cim_type)
        })
        .collect())
}

/// Runs `method` on the instance of `class_name` with `keys` (Invoke-CimMethod): its `<method>_OUTPUT`
/// instance with `ReturnValue` (Windows' codes) and the out-parameters.
/// Errors: InvalidNamespace, InvalidClass, MethodNotFound (not declared, or a static call of an
/// instance method), NotFound (no such instance).
pub fn invoke(namespace: &str, class_name: &str, keys: &[(String, String)], method: &str, instance: Option<&CimInstance>) -> Result<CimInstance> {
    let schema = class(namespace, class_name)?;
    let declared = schema
        .method(method)
        .ok_or_else(|| Error::new(crate::error::ErrorKind::MethodNotFound, format!("Method '{method}' is not defined by class '{class_name}' on this machine")))?;
    let Some(instance) = instance.filter(|_| !keys.is_empty()) else {
        return Err(Error::new(crate::error::ErrorKind::MethodNotFound, format!("Method '{}' of class '{}' is called on an instance, not on the class", declared.name, schema.name)));
    };
    let outputs = process::invoke(&system::Machine::read(), instance, &declared.name)?;
    let mut properties = vec![crate::cim::CimProperty::new("ReturnValue", declared.return_type, outputs.0)];
    properties.extend(outputs.1);
    Ok(CimInstance { namespace: NAMESPACE.to_string(), class_name: format!("{}_OUTPUT", declared.name), superclasses: Vec::new(), server_name: instance.server_name.clone(), properties })
}

fn keep_keys_only(instance: &mut CimInstance) {
    instance.properties.retain(|p| p.key);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn namespaces_and_classes_are_checked() {
        assert!(check_namespace("root\\CIMV2").is_ok());
        assert!(check_namespace("/root/cimv2").is_ok());
        assert_eq!(enumerate("root/other", "Win32_Process", OperationFlags::default()).unwrap_err().kind, ErrorKind::InvalidNamespace);
        assert_eq!(enumerate("root/cimv2", "Win32_Nothing", OperationFlags::default()).unwrap_err().kind, ErrorKind::InvalidClass);
        let names = class_names("root/cimv2").unwrap();
        assert!(names.contains(&"CIM_ManagedSystemElement".to_string()));
        assert!(names.contains(&"Win32_Service".to_string()));
    }

    #[test]
    fn polymorphism_deep_and_shallow() {
        let deep = enumerate("root/cimv2", "cim_process", OperationFlags::default()).unwrap();
        assert!(!deep.is_empty());
        assert!(deep.iter().all(|i| i.class_name == "Win32_Process"));
        let shallow = enumerate("root/cimv2", "CIM_Process", OperationFlags { shallow: true, ..Default::default() }).unwrap();
        assert!(shallow.is_empty());
        let elements = enumerate("root/cimv2", "CIM_LogicalElement", OperationFlags::default()).unwrap();
        assert!(elements.iter().any(|i| i.class_name == "Win32_OperatingSystem"));
    }

    #[test]
    fn class_declarations_follow_the_instances() {
        let process = class("root\\cimv2", "win32_process").unwrap();
        assert_eq!(process.name, "Win32_Process");
        assert_eq!(process.superclass.as_deref(), Some("CIM_Process"));
        assert!(process.property("Handle").unwrap().is_key());
        assert_eq!(process.property("ProcessId").unwrap().cim_type, crate::cim::CimType::UInt32);
        let element = class("root/cimv2", "CIM_ManagedSystemElement").unwrap();
        assert_eq!(element.superclass, None);
        assert!(element.property("Caption").is_some() || element.properties.is_empty());
        assert!(element.properties.iter().all(|p| process.property(&p.name).is_some()));
        assert_eq!(class("root/cimv2", "Win32_Nothing").unwrap_err().kind, ErrorKind::InvalidClass);
        assert_eq!(classes("root/cimv2").unwrap().len(), class_names("root/cimv2").unwrap().len());
    }

    #[test]
    fn keys_only_and_projection() {
        let keys = enumerate("root/cimv2", "Win32_Process", OperationFlags { keys_only: true, ..Default::default() }).unwrap();
        assert!(keys.iter().all(|i| i.properties.iter().all(|p| p.key)));
        let q = wql::parse(&format!("SELECT Name FROM Win32_Process WHERE ProcessId = {}", std::process::id())).unwrap();
        let me = query("root/cimv2", &q, OperationFlags::default()).unwrap();
        assert_eq!(me.len(), 1);
        assert!(!me[0].property("Name").unwrap().value.is_null());
        assert!(!me[0].property("Handle").unwrap().value.is_null());
        assert!(me[0].property("ThreadCount").unwrap().value.is_null());
        let bad = wql::parse("SELECT Nope FROM Win32_OperatingSystem").unwrap();
        assert_eq!(query("root/cimv2", &bad, OperationFlags::default()).unwrap_err().kind, ErrorKind::InvalidQuery);
    }

    #[test]
    fn cim_error_is_declared_and_has_no_instances() {
        let e = class("root/cimv2", "cim_error").unwrap();
        assert_eq!((e.name.as_str(), e.superclass.as_deref()), ("CIM_Error", None));
        assert_eq!(e.properties.len(), 15);
        assert_eq!(e.property("MessageArguments").unwrap().cim_type, crate::cim::CimType::StringArray);
        assert!(e.property("MessageID").unwrap().qualifiers & qualifier::REQUIRED != 0);
        assert!(enumerate("root/cimv2", "CIM_Error", OperationFlags::default()).unwrap().is_empty());
        assert!(class_names("root/cimv2").unwrap().iter().any(|n| n == "CIM_Error"));
    }

    #[test]
    fn win32_process_terminates_and_tells_its_owner() {
        let p = class("root/cimv2", "Win32_Process").unwrap();
        assert_eq!(p.methods.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["Terminate", "GetOwner"]);
        assert!(class("root/cimv2", "CIM_Process").unwrap().methods.is_empty());
        let me = std::process::id().to_string();
        let keys = [("Handle".to_string(), me.clone())];
        let mine = enumerate("root/cimv2", "Win32_Process", OperationFlags::default()).unwrap().into_iter().find(|i| i.property("Handle").unwrap().value == CimValue::String(me.clone())).unwrap();
        let owner = invoke("root/cimv2", "Win32_Process", &keys, "getowner", Some(&mine)).unwrap();
        assert_eq!(owner.class_name, "GetOwner_OUTPUT");
        assert_eq!(owner.property("ReturnValue").unwrap().value, CimValue::UInt32(0));
        let uid = unsafe { libc::getuid() };
        let user = owner.property("User").unwrap().value.clone();
        assert!(user == CimValue::String(std::env::var("USER").unwrap_or_default()) || uid == 0 && user == CimValue::String("root".into()), "{user:?}");
        assert_eq!(invoke("root/cimv2", "Win32_Process", &keys, "Nope", Some(&mine)).unwrap_err().kind, ErrorKind::MethodNotFound);
        assert_eq!(invoke("root/cimv2", "Win32_Process", &[], "Terminate", None).unwrap_err().kind, ErrorKind::MethodNotFound);

        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id().to_string();
        let target = enumerate("root/cimv2", "Win32_Process", OperationFlags::default()).unwrap().into_iter().find(|i| i.property("Handle").unwrap().value == CimValue::String(pid.clone())).unwrap();
        let keys = [("Handle".to_string(), pid)];
        let ended = invoke("root/cimv2", "Win32_Process", &keys, "Terminate", Some(&target)).unwrap();
        assert_eq!(ended.property("ReturnValue").unwrap().value, CimValue::UInt32(0));
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
        // Once reaped, the process is gone: NotFound.
        assert_eq!(invoke("root/cimv2", "Win32_Process", &keys, "Terminate", Some(&target)).unwrap_err().kind, ErrorKind::NotFound);
    }
}

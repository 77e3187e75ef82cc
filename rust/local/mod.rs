//! The local provider: `root/cimv2` of this machine, read from /proc, /sys and /etc (DESIGN.md
//! "Where the Windows behaviour has no Linux meaning").
//!
//! Each served class is a Win32_ class with its CIM_ ancestry, so `CIM_Process` (deep) yields the
//! `Win32_Process` instances as on Windows. Values use Windows' property names and CIM types; where Linux
//! has no value the property is null. Filtering and projection of queries happen here, before anything
//! crosses the C ABI.

mod bios;
mod computer;
mod disk;
mod os;
mod process;
mod processor;
mod service;
pub mod provider;
pub(crate) mod system;

use crate::cim::class::{qualifier, ClassSchema, PropertySchema};
use crate::cim::provider::OperationFlags;
use crate::cim::{wql, CimInstance, CimValue};
use crate::error::{Error, Result};


/// A class this provider serves: its name, superclasses (nearest first) and how to read its instances.
struct ClassDef {
    name: &'static str,
    superclasses: &'static [&'static str],
    read: fn(&system::Machine) -> Result<Vec<CimInstance>>,
}

const CLASSES: &[ClassDef] = &[
    ClassDef { name: "Win32_OperatingSystem", superclasses: os::SUPERCLASSES, read: os::read },
    ClassDef { name: "Win32_ComputerSystem", superclasses: computer::SUPERCLASSES, read: computer::read },
    ClassDef { name: "Win32_BIOS", superclasses: bios::SUPERCLASSES, read: bios::read },
    ClassDef { name: "Win32_Process", superclasses: process::SUPERCLASSES, read: process::read },
    ClassDef { name: "Win32_LogicalDisk", superclasses: disk::SUPERCLASSES, read: disk::read },
    ClassDef { name: "Win32_Processor", superclasses: processor::SUPERCLASSES, read: processor::read },
    ClassDef { name: "Win32_Service", superclasses: service::SUPERCLASSES, read: service::read },
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
/// (qualifier READ); no class declares methods. Errors: InvalidNamespace, InvalidClass, Io.
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
    Ok(ClassSchema { name, superclass, properties: declared.unwrap_or_default(), ..ClassSchema::default() })
}

/// Every class declaration in `namespace`, in [`class_names`] order. Errors: InvalidNamespace, Io.
pub fn classes(namespace: &str) -> Result<Vec<ClassSchema>> {
    class_names(namespace)?.iter().map(|name| class(namespace, name)).collect()
}

/// The properties a served class's instances carry, as declarations (from its first instance).
fn declared_properties(class: &ClassDef, machine: &system::Machine) -> Result<Vec<PropertySchema>> {
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
}

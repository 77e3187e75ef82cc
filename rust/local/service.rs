//! Win32_Service: systemd's service units. Where systemd is not running (containers, other init
//! systems) there are no services: an empty result, not an error.

use std::path::Path;
use std::process::Command;

use super::system::{instance, Machine};
use crate::cim::{CimInstance, CimProperty, CimType, CimValue};
use crate::error::Result;

pub(super) const SUPERCLASSES: &[&str] = &["Win32_BaseService", "CIM_Service", "CIM_LogicalElement", "CIM_ManagedSystemElement"];

/// One unit as `systemctl show` describes it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Unit {
    pub name: String,
    pub description: String,
    pub active: String,
    pub sub: String,
    pub file_state: String,
    pub main_pid: u32,
    pub exec: Option<String>,
}

/// Parses `systemctl show -p Id,Description,ActiveState,SubState,UnitFileState,MainPID,ExecStart`
/// output for many units: blocks separated by blank lines.
pub(crate) fn parse_show(text: &str) -> Vec<Unit> {
    text.split("\n\n")
        .filter_map(|block| {
            let mut u = Unit::default();
            for line in block.lines() {
                let Some((k, v)) = line.split_once('=') else { continue };
                match k {
                    "Id" => u.name = v.trim_end_matches(".service").to_string(),
                    "Description" => u.description = v.to_string(),
                    "ActiveState" => u.active = v.to_string(),
                    "SubState" => u.sub = v.to_string(),
                    "UnitFileState" => u.file_state = v.to_string(),
                    "MainPID" => u.main_pid = v.parse().unwrap_or(0),
                    "ExecStart" => u.exec = v.split("path=").nth(1).and_then(|p| p.split([' ', ';']).next()).map(str::to_string),
                    _ => {}
                }
            }
            (!u.name.is_empty()).then_some(u)
        })
        .collect()
}

/// Windows' StartMode for a unit-file state.
fn start_mode(file_state: &str) -> &'static str {
    match file_state {
        "enabled" | "enabled-runtime" | "static" | "alias" => "Auto",
        "disabled" | "masked" | "masked-runtime" => "Disabled",
        _ => "Manual",
    }
}

fn systemctl(args: &[&str]) -> Option<String> {
    let out = Command::new("systemctl").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

pub(super) fn read(m: &Machine) -> Result<Vec<CimInstance>> {
    if !Path::new("/run/systemd/system").is_dir() {
        return Ok(Vec::new());
    }
    let Some(list) = systemctl(&["list-units", "--type=service", "--all", "--plain", "--no-legend", "--no-pager"]) else {
        return Ok(Vec::new());
    };
    let names: Vec<&str> = list.lines().filter_map(|l| l.split_whitespace().next()).filter(|n| n.ends_with(".service")).collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = vec!["show", "--no-pager", "-p", "Id,Description,ActiveState,SubState,UnitFileState,MainPID,ExecStart"];
    args.extend(names.iter().copied());
    let units = parse_show(&systemctl(&args).unwrap_or_default());
    Ok(units
        .into_iter()
        .map(|u| {
            let running = u.active == "active";
            let s = |v: &str| CimValue::String(v.to_string());
            instance(vec![
                CimProperty::key("Name", CimType::String, s(&u.name)),
                CimProperty::new("DisplayName", CimType::String, s(&u.description)),
                CimProperty::new("Caption", CimType::String, s(&u.description)),
                CimProperty::new("Description", CimType::String, s(&u.description)),
                CimProperty::new("State", CimType::String, s(if running { "Running" } else { "Stopped" })),
                CimProperty::new("Started", CimType::Boolean, CimValue::Boolean(running)),
                CimProperty::new("StartMode", CimType::String, s(start_mode(&u.file_state))),
                CimProperty::new("Status", CimType::String, s(if u.active == "failed" { "Error" } else { "OK" })),
                CimProperty::new("ProcessId", CimType::UInt32, CimValue::UInt32(u.main_pid)),
                CimProperty::new("PathName", CimType::String, u.exec.map_or(CimValue::Null, CimValue::String)),
                CimProperty::new("ServiceType", CimType::String, s("Own Process")),
                CimProperty::key("CreationClassName", CimType::String, s("Win32_Service")),
                CimProperty::key("SystemCreationClassName", CimType::String, s("Win32_ComputerSystem")),
                CimProperty::key("SystemName", CimType::String, s(&m.hostname)),
            ])
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_systemctl_show() {
        let text = "Id=ssh.service\nDescription=OpenBSD Secure Shell server\nActiveState=active\nSubState=running\nUnitFileState=enabled\nMainPID=612\nExecStart={ path=/usr/sbin/sshd ; argv[]=/usr/sbin/sshd -D ; }\n\nId=cron.service\nDescription=Regular background program processing daemon\nActiveState=inactive\nSubState=dead\nUnitFileState=disabled\nMainPID=0\n";
        let u = parse_show(text);
        assert_eq!(u.len(), 2);
        assert_eq!(u[0].name, "ssh");
        assert_eq!(u[0].exec.as_deref(), Some("/usr/sbin/sshd"));
        assert_eq!(u[0].main_pid, 612);
        assert_eq!(start_mode(&u[1].file_state), "Disabled");
    }
}

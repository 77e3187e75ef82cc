//! The local provider against what the machine itself says: this test process in /proc/self, `nproc`,
//! `df` and /proc/meminfo.

use std::process::Command;

use remote_sessions::cim::{wql, CimValue};
use remote_sessions::cim::provider::OperationFlags;
use remote_sessions::local;

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().expect("command runs");
    String::from_utf8(out.stdout).expect("utf-8").trim().to_string()
}

#[test]
fn this_process_matches_proc_self() {
    let pid = std::process::id();
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let ppid: u32 = fields[1].parse().unwrap();
    let comm = std::fs::read_to_string("/proc/self/comm").unwrap().trim().to_string();
    let query = wql::parse(&format!("SELECT * FROM Win32_Process WHERE ProcessId = {pid}")).unwrap();
    let found = local::query("root\\cimv2", &query, OperationFlags::default()).unwrap();
    assert_eq!(found.len(), 1);
    let me = &found[0];
    assert_eq!(me.property("ParentProcessId").unwrap().value, CimValue::UInt32(ppid));
    assert_eq!(me.property("Name").unwrap().value, CimValue::String(comm));
    assert_eq!(me.property("Handle").unwrap().value, CimValue::String(pid.to_string()));
    assert!(me.property("Handle").unwrap().key);
    match me.property("ThreadCount").unwrap().value {
        CimValue::UInt32(n) => assert!(n >= 1),
        ref other => panic!("ThreadCount is {other:?}"),
    }
}

#[test]
fn processors_add_up_to_nproc() {
    let cpus = local::enumerate("root/cimv2", "Win32_Processor", OperationFlags::default()).unwrap();
    let total: u32 = cpus
        .iter()
        .map(|c| match c.property("NumberOfLogicalProcessors").unwrap().value {
            CimValue::UInt32(n) => n,
            _ => 0,
        })
        .sum();
    assert_eq!(total.to_string(), run("nproc", &["--all"]));
}

#[test]
fn root_disk_size_matches_df() {
    let disks = local::enumerate("root/cimv2", "CIM_LogicalDisk", OperationFlags::default()).unwrap();
    let root = disks.iter().find(|d| d.property("DeviceID").unwrap().value == CimValue::String("/".into())).expect("/ is listed");
    let df = run("df", &["-B1", "--output=size", "/"]);
    let size: u64 = df.lines().nth(1).unwrap().trim().parse().unwrap();
    assert_eq!(root.property("Size").unwrap().value, CimValue::UInt64(size));
    assert_eq!(root.class_name, "Win32_LogicalDisk");
}

#[test]
fn memory_matches_meminfo() {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let total: u64 = meminfo.lines().find(|l| l.starts_with("MemTotal:")).unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    let os = local::enumerate("root/cimv2", "Win32_OperatingSystem", OperationFlags::default()).unwrap();
    assert_eq!(os[0].property("TotalVisibleMemorySize").unwrap().value, CimValue::UInt64(total));
    let cs = local::enumerate("root/cimv2", "Win32_ComputerSystem", OperationFlags::default()).unwrap();
    assert_eq!(cs[0].property("TotalPhysicalMemory").unwrap().value, CimValue::UInt64(total * 1024));
}

#[test]
fn services_are_empty_or_well_formed() {
    let services = local::enumerate("root/cimv2", "Win32_Service", OperationFlags::default()).unwrap();
    for s in &services {
        assert!(matches!(s.property("State").unwrap().value, CimValue::String(ref st) if st == "Running" || st == "Stopped"));
    }
}

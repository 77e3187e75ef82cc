//! Win32_LogicalDisk: one instance per mounted file system that stores data (from
//! /proc/self/mountinfo), sizes in bytes from statvfs as `df` computes them.

use std::ffi::CString;
use std::fs;

use super::system::{instance, Machine};
use crate::cim::{CimInstance, CimProperty, CimType, CimValue};
use crate::error::Result;

pub(super) const SUPERCLASSES: &[&str] =
    &["CIM_LogicalDisk", "CIM_StorageExtent", "CIM_LogicalDevice", "CIM_LogicalElement", "CIM_ManagedSystemElement"];

/// File systems that hold no user data (kernel interfaces); everything else, tmpfs and overlay
/// included, is listed as `df` lists it.
const PSEUDO: &[&str] = &[
    "proc", "sysfs", "devpts", "devtmpfs", "mqueue", "cgroup", "cgroup2", "debugfs", "tracefs", "securityfs",
    "pstore", "bpf", "configfs", "fusectl", "hugetlbfs", "autofs", "binfmt_misc", "rpc_pipefs", "nsfs", "efivarfs",
    "selinuxfs", "ramfs",
];

/// WMI's DriveType values.
const DRIVE_LOCAL: u32 = 3;
const DRIVE_NETWORK: u32 = 4;
const NETWORK: &[&str] = &["nfs", "nfs4", "cifs", "smb3", "smbfs", "sshfs", "fuse.sshfs", "9p", "afs", "ceph", "glusterfs"];

/// A mount from /proc/self/mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mount {
    pub mount_point: String,
    pub fs_type: String,
    pub source: String,
}

/// Parses /proc/self/mountinfo (proc(5)): the mount point is field 5, and after the ` - ` separator
/// come the file-system type and the source. Octal escapes (`\040` for a space) are decoded.
pub(crate) fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mount_point = unescape(left.split_whitespace().nth(4)?);
            let mut r = right.split_whitespace();
            Some(Mount { mount_point, fs_type: r.next()?.to_string(), source: unescape(r.next().unwrap_or("")) })
        })
        .collect()
}

fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() && bytes[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b)) {
            out.push((bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// (size, free for unprivileged users, block size) in bytes, as `df` reports them.
fn space(path: &str) -> Option<(u64, u64, u64)> {
    let c = CString::new(path).ok()?;
    // SAFETY: statvfs writes only into the zeroed struct passed.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    let frsize = s.f_frsize as u64;
    Some((s.f_blocks as u64 * frsize, s.f_bavail as u64 * frsize, s.f_bsize as u64))
}

pub(super) fn read(m: &Machine) -> Result<Vec<CimInstance>> {
    let mounts = parse_mountinfo(&fs::read_to_string("/proc/self/mountinfo").unwrap_or_default());
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for mount in mounts.into_iter().rev() {
        // The last mount on a path hides the earlier ones.
        if PSEUDO.contains(&mount.fs_type.as_str()) || !seen.insert(mount.mount_point.clone()) {
            continue;
        }
        let Some((size, free, block)) = space(&mount.mount_point) else { continue };
        if size == 0 {
            continue;
        }
        let network = NETWORK.contains(&mount.fs_type.as_str());
        let s = |v: &str| CimValue::String(v.to_string());
        out.push(instance(vec![
            CimProperty::key("DeviceID", CimType::String, s(&mount.mount_point)),
            CimProperty::new("Name", CimType::String, s(&mount.mount_point)),
            CimProperty::new("Caption", CimType::String, s(&mount.mount_point)),
            CimProperty::new("Description", CimType::String, s(if network { "Network Connection" } else { "Local Fixed Disk" })),
            CimProperty::new("DriveType", CimType::UInt32, CimValue::UInt32(if network { DRIVE_NETWORK } else { DRIVE_LOCAL })),
            CimProperty::new("MediaType", CimType::UInt32, if network { CimValue::Null } else { CimValue::UInt32(12) }),
            CimProperty::new("FileSystem", CimType::String, s(&mount.fs_type)),
            CimProperty::new("ProviderName", CimType::String, s(&mount.source)),
            CimProperty::new("VolumeName", CimType::String, CimValue::Null),
            CimProperty::new("Size", CimType::UInt64, CimValue::UInt64(size)),
            CimProperty::new("FreeSpace", CimType::UInt64, CimValue::UInt64(free)),
            CimProperty::new("BlockSize", CimType::UInt64, CimValue::UInt64(block)),
            CimProperty::key("CreationClassName", CimType::String, s("Win32_LogicalDisk")),
            CimProperty::key("SystemCreationClassName", CimType::String, s("Win32_ComputerSystem")),
            CimProperty::key("SystemName", CimType::String, s(&m.hostname)),
        ]));
    }
    out.reverse();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines() {
        let text = "36 35 98:0 / /mnt/my\\040disk rw,noatime master:1 - ext4 /dev/sda1 rw\n\
                    37 35 0:5 / /proc rw - proc proc rw\n";
        let m = parse_mountinfo(text);
        assert_eq!(m[0], Mount { mount_point: "/mnt/my disk".into(), fs_type: "ext4".into(), source: "/dev/sda1".into() });
        assert_eq!(m[1].fs_type, "proc");
    }
}

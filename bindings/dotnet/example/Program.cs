using RemoteSessions.Native;

// Creates a local CIM session, finds it by name, prints Win32_OperatingSystem's properties with their
// CIM types, runs a WQL query for this process and removes the session.
Console.WriteLine($"remote_sessions {RemoteSessionsLibrary.Version}");
using var scope = new SessionScope();
using CimSession session = scope.NewSession(name: "example");

var (found, _) = scope.Find(Lookup.Name, ["exa*"]);
foreach (CimSession s in found)
{
    Console.WriteLine($"found Id {s.Id}, Name {s.Name}, ComputerName {s.ComputerName}, InstanceId {s.InstanceId}");
    s.Dispose();
}

foreach (CimInstanceData os in session.Enumerate("root/cimv2", "Win32_OperatingSystem"))
{
    Console.WriteLine($"{os.ClassName} ({os.Properties.Count} properties):");
    foreach (CimPropertyData p in os.Properties)
        Console.WriteLine($"  {p.Name,-24} {p.CimType,-10} {p.Value ?? "(null)"}");
}

// Every operation takes a CancellationToken: here the query gives up after 30 s.
using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
string query = $"SELECT Name, ProcessId, ParentProcessId FROM Win32_Process WHERE ProcessId = {Environment.ProcessId}";
Console.WriteLine(query + ":");
foreach (CimInstanceData me in session.Query(null, "WQL", query, cancellationToken: timeout.Token))
    foreach (CimPropertyData p in me.Properties.Where(p => p.Value is not null))
        Console.WriteLine($"  {p.Name,-24} {p.CimType,-10} {p.Value}");

scope.Remove(session);
Console.WriteLine("session removed");

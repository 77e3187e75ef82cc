using System.Management.Automation;
using System.Management.Automation.Runspaces;
using RemoteSessions.TestHost;

// A small host of the real PowerShell 7 engine (System.Management.Automation from NuGet), for machines
// without pwsh: runs a script and prints its output through Out-Default, so ps1xml views apply.
// Usage: rsess-host -Command '<script>'  |  rsess-host <script.ps1>
if (args.Length == 0 || (args[0] == "-Command" && args.Length < 2))
{
    Console.Error.WriteLine("usage: rsess-host -Command '<script>' | rsess-host <file.ps1>");
    return 2;
}
string script = args[0].Equals("-Command", StringComparison.OrdinalIgnoreCase)
    ? string.Join(' ', args.Skip(1))
    : File.ReadAllText(args[0]);

var host = new TextHost(Console.Out);
using var runspace = host.OpenRunspace();
using var ps = PowerShell.Create();
ps.Runspace = runspace;
ps.AddScript(script);
ps.Commands.Commands[0].MergeMyResults(PipelineResultTypes.All, PipelineResultTypes.Output);
ps.AddCommand("Out-Default");
try
{
    ps.Invoke();
}
catch (RuntimeException e)
{
    Console.Out.Flush();
    Console.Error.WriteLine($"{e.ErrorRecord}\n    + FullyQualifiedErrorId : {e.ErrorRecord.FullyQualifiedErrorId}");
    return 1;
}
return host.ExitCode ?? (ps.HadErrors ? 1 : 0);

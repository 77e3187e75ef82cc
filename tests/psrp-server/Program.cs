using System.Management.Automation;
using System.Reflection;

// Runs the engine's own out-of-process PSRP server (the code behind `pwsh -s`) on stdin/stdout.
// It is internal to System.Management.Automation, so it is reached by reflection. No working
// directory is passed: the server would call Set-Location, which this engine build lacks.
Type mediator = typeof(PSObject).Assembly.GetType("System.Management.Automation.Remoting.Server.StdIOProcessMediator", throwOnError: true)!;
MethodInfo run = mediator.GetMethod("Run", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
    ?? throw new MissingMethodException(mediator.FullName, "Run");
run.Invoke(null, [null, null, null, null, false]);

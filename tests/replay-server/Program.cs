// rsess-replay: a WS-Management server that answers from recorded fixtures (see README.md).
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RemoteSessions.ReplayServer;

string? fixturesDir = null, certOut = null, clientCa = null;
string user = "rsess", password = "Replay-Pa55";
int httpPorts = 1;
bool https = false, list = false;
for (int i = 0; i < args.Length; i++)
{
    string Value() => ++i < args.Length ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value");
    switch (args[i])
    {
        case "--fixtures": fixturesDir = Value(); break;
        case "--user": user = Value(); break;
        case "--password": password = Value(); break;
        case "--http-ports": httpPorts = int.Parse(Value()); break;
        case "--https": https = true; break;
        case "--cert-out": certOut = Value(); break;
        case "--client-ca": clientCa = Value(); break;
        case "--list": list = true; break;
        default:
            Console.Error.WriteLine($"rsess-replay: unknown argument {args[i]}");
            Console.Error.WriteLine("usage: rsess-replay --fixtures <dir> [--user U --password P] [--http-ports N] [--https] [--cert-out <pem>] [--client-ca <pem>]");
            return 2;
    }
}
if (fixturesDir is null)
{
    Console.Error.WriteLine("rsess-replay: --fixtures <path to shared/fixtures> is required");
    return 2;
}

var fixtureSet = new FixtureSet(fixturesDir);
if (list)
{
    // Not for tests: what each served fixture expects, for people writing clients.
    foreach (string line in fixtureSet.Describe()) Console.Out.WriteLine(line);
    return 0;
}
var replayer = new Replayer(fixtureSet);
var endpoint = new Endpoint(replayer, user, password);
var certificate = https || clientCa is not null ? Certificate.CreateSelfSigned() : null;
// --client-ca: one more HTTPS port that requires a client certificate issued by that CA (WinRM's
// certificate authentication, New-CimSession -CertificateThumbprint).
X509Certificate2? issuer = clientCa is null ? null : X509CertificateLoader.LoadCertificateFromFile(clientCa);
if (certificate is not null && certOut is not null) File.WriteAllText(certOut, certificate.ExportCertificatePem() + "\n");

var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
builder.Logging.ClearProviders();
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
builder.WebHost.ConfigureKestrel(k =>
{
    k.AddServerHeader = false;
    for (int i = 0; i < httpPorts; i++) k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http1);
    if (certificate is not null && https)
        k.Listen(IPAddress.Loopback, 0, l => { l.Protocols = HttpProtocols.Http1; l.UseHttps(certificate); });
    if (certificate is not null && issuer is not null)
        k.Listen(IPAddress.Loopback, 0, l =>
        {
            l.Protocols = HttpProtocols.Http1;
            l.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificate = certificate,
                ClientCertificateMode = ClientCertificateMode.RequireCertificate,
                ClientCertificateValidation = (client, _, _) => Certificate.IssuedBy(client, issuer),
            });
        });
});
var app = builder.Build();
app.Run(endpoint.HandleAsync);
await app.StartAsync();

var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
    .Select(a => new Uri(a)).ToList();
string httpList = string.Join(",", addresses.Where(u => u.Scheme == "http").Select(u => u.Port));
var httpsPorts = addresses.Where(u => u.Scheme == "https").Select(u => u.Port).ToList();
// Kestrel reports its listeners in the order they were added: the plain HTTPS one (if any) first.
int httpsPort = https ? httpsPorts[0] : 0;
endpoint.MutualPort = issuer is not null ? httpsPorts[^1] : 0;
Console.Out.WriteLine(issuer is null ? $"listening http={httpList} https={httpsPort}" : $"listening http={httpList} https={httpsPort} mutual={endpoint.MutualPort}");
Console.Out.Flush();

// Stop when stdin reaches EOF, so a test process that dies leaves no orphan; SIGTERM stops the host too.
var stdinWatcher = new Thread(() =>
{
    try
    {
        using Stream stdin = Console.OpenStandardInput();
        var buffer = new byte[256];
        while (stdin.Read(buffer, 0, buffer.Length) > 0) { }
    }
    catch (IOException) { }
    app.Lifetime.StopApplication();
}) { IsBackground = true };
stdinWatcher.Start();

await app.WaitForShutdownAsync();
return 0;

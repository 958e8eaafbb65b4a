using Microsoft.Extensions.Configuration;
using AspireBatch.AppHost;
using AspireBatch.AppHost.Infrastructure;

var builder = DistributedApplication.CreateBuilder(args);

var infrastructure = builder.AddBatchInfrastructure();
var apiKey = builder.AddParameter("api-key", secret: true);
var operatorUser = builder.AddParameter("operator-user");
var operatorPassword = builder.AddParameter("operator-password", secret: true);
var simulatorKey = builder.AddParameter("simulator-key", secret: true);
// Encrypts the Data Protection key ring (and so every provider key) at rest; the Dashboard never reads provider keys.
var keyRing = builder.AddKeyRing();

var simPrimary = builder.AddSimulator("sim-primary", port: 5301, latencyMs: 40, simulatorKey);
var simFallback = builder.AddSimulator("sim-fallback", port: 5302, latencyMs: 250, simulatorKey);

var migrator = builder.AddProject<Projects.AspireBatch_Migrator>("migrator")
    .WithInfrastructure(infrastructure)
    .WithKeyRing(keyRing)
    .WithSeedProvider(0, simPrimary, simulatorKey)
    .WithSeedProvider(1, simFallback, simulatorKey)
    // The first admin account; the Dashboard signs people in against the accounts, through the Api.
    .WithEnvironment("Seed__Admin__User", operatorUser)
    .WithEnvironment("Seed__Admin__Password", operatorPassword);

var api = builder.AddProject<Projects.AspireBatch_Api>("api")
    .WithInfrastructure(infrastructure)
    .WithKeyRing(keyRing)
    .WithEnvironment("Api__Key", apiKey)
    .WithSettingsFrom(builder.Configuration.GetSection("Api"))
    .WithSettingsFrom(builder.Configuration.GetSection("Rollback"))
    .WithSettingsFrom(builder.Configuration.GetSection("Oidc"))
    .WithHttpHealthCheck("/health")
    .WaitForCompletion(migrator);

builder.AddProject<Projects.AspireBatch_Worker>("worker")
    .WithInfrastructure(infrastructure)
    .WithKeyRing(keyRing)
    .WithReplicas(builder.Configuration.GetValue("Worker:Replicas", 2))
    .WithSettingsFrom(builder.Configuration.GetSection("Worker"))
    .WithSettingsFrom(builder.Configuration.GetSection("Rollback"))
    .WithHttpHealthCheck("/health")
    .WaitForCompletion(migrator);

builder.AddProject<Projects.AspireBatch_Dashboard>("dashboard")
    .WithReference(api)
    .WithReference(infrastructure.Redis)
    // Optional single sign-on (Oidc:Authority, ClientId, ClientSecret, UserClaim): off unless set.
    .WithSettingsFrom(builder.Configuration.GetSection("Oidc"))
    .WithHttpHealthCheck("/health")
    .WaitFor(api);

builder.Build().Run();

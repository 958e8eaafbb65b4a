using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace AspireBatch.Data.Migrations
{
    /// <inheritdoc />
    public partial class Initial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "data_protection_keys",
                columns: table => new
                {
                    id = table.Column<int>(type: "integer", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    friendly_name = table.Column<string>(type: "text", nullable: true),
                    xml = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_data_protection_keys", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "files",
                columns: table => new
                {
                    id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    file_name = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: false),
                    purpose = table.Column<string>(type: "character varying(50)", maxLength: 50, nullable: false),
                    bytes = table.Column<long>(type: "bigint", nullable: false),
                    content = table.Column<byte[]>(type: "bytea", nullable: false),
                    job_id = table.Column<Guid>(type: "uuid", nullable: true),
                    output_kind = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_files", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "model_aliases",
                columns: table => new
                {
                    alias = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    model_name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_model_aliases", x => x.alias);
                });

            migrationBuilder.CreateTable(
                name: "providers",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    base_url = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: false),
                    encrypted_api_key = table.Column<string>(type: "text", nullable: true),
                    api_key_last4 = table.Column<string>(type: "character varying(4)", maxLength: 4, nullable: true),
                    timeout_seconds = table.Column<int>(type: "integer", nullable: false),
                    connect_timeout_seconds = table.Column<int>(type: "integer", nullable: false),
                    requests_per_minute = table.Column<int>(type: "integer", nullable: true),
                    tokens_per_minute = table.Column<int>(type: "integer", nullable: true),
                    max_concurrency = table.Column<int>(type: "integer", nullable: true),
                    enabled = table.Column<bool>(type: "boolean", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_providers", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "routes",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    active_target_position = table.Column<int>(type: "integer", nullable: false),
                    max_error_rate = table.Column<double>(type: "double precision", nullable: false),
                    max_mean_latency_ms = table.Column<double>(type: "double precision", nullable: false),
                    min_success_rate = table.Column<double>(type: "double precision", nullable: false),
                    window_seconds = table.Column<int>(type: "integer", nullable: false),
                    evaluation_interval_seconds = table.Column<int>(type: "integer", nullable: false),
                    min_calls = table.Column<int>(type: "integer", nullable: false),
                    auto_rollback = table.Column<bool>(type: "boolean", nullable: false),
                    auto_roll_forward = table.Column<bool>(type: "boolean", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    switched_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_routes", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "provider_models",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    provider_id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    input_price_per_m_tok = table.Column<decimal>(type: "numeric(18,6)", precision: 18, scale: 6, nullable: false),
                    output_price_per_m_tok = table.Column<decimal>(type: "numeric(18,6)", precision: 18, scale: 6, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_provider_models", x => x.id);
                    table.ForeignKey(
                        name: "fk_provider_models_providers_provider_id",
                        column: x => x.provider_id,
                        principalTable: "providers",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "jobs",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    state = table.Column<int>(type: "integer", nullable: false),
                    input_format = table.Column<int>(type: "integer", nullable: false),
                    requested_model = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    route_id = table.Column<Guid>(type: "uuid", nullable: true),
                    provider_id = table.Column<Guid>(type: "uuid", nullable: true),
                    model_name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    system_template = table.Column<string>(type: "text", nullable: true),
                    user_template = table.Column<string>(type: "text", nullable: true),
                    temperature = table.Column<double>(type: "double precision", nullable: true),
                    max_tokens = table.Column<int>(type: "integer", nullable: true),
                    response_format = table.Column<string>(type: "jsonb", nullable: true),
                    metadata = table.Column<string>(type: "jsonb", nullable: true),
                    requests_per_minute_cap = table.Column<int>(type: "integer", nullable: true),
                    budget_usd = table.Column<decimal>(type: "numeric(20,10)", precision: 20, scale: 10, nullable: true),
                    state_reason = table.Column<string>(type: "text", nullable: true),
                    total_items = table.Column<int>(type: "integer", nullable: false),
                    succeeded_items = table.Column<int>(type: "integer", nullable: false),
                    failed_items = table.Column<int>(type: "integer", nullable: false),
                    cancelled_items = table.Column<int>(type: "integer", nullable: false),
                    input_tokens = table.Column<long>(type: "bigint", nullable: false),
                    output_tokens = table.Column<long>(type: "bigint", nullable: false),
                    cost_usd = table.Column<decimal>(type: "numeric(20,10)", precision: 20, scale: 10, nullable: false),
                    estimated_input_tokens = table.Column<long>(type: "bigint", nullable: false),
                    estimated_cost_bound_usd = table.Column<decimal>(type: "numeric(20,10)", precision: 20, scale: 10, nullable: false),
                    trace_parent = table.Column<string>(type: "text", nullable: true),
                    input_file_id = table.Column<string>(type: "text", nullable: true),
                    is_batch = table.Column<bool>(type: "boolean", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    completed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    cancelled_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_jobs", x => x.id);
                    table.ForeignKey(
                        name: "fk_jobs_providers_provider_id",
                        column: x => x.provider_id,
                        principalTable: "providers",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "fk_jobs_routes_route_id",
                        column: x => x.route_id,
                        principalTable: "routes",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "rollback_events",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    route_id = table.Column<Guid>(type: "uuid", nullable: false),
                    from_position = table.Column<int>(type: "integer", nullable: false),
                    to_position = table.Column<int>(type: "integer", nullable: false),
                    from_target = table.Column<string>(type: "text", nullable: false),
                    to_target = table.Column<string>(type: "text", nullable: false),
                    reason = table.Column<string>(type: "text", nullable: false),
                    automatic = table.Column<bool>(type: "boolean", nullable: false),
                    figures = table.Column<string>(type: "jsonb", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_rollback_events", x => x.id);
                    table.ForeignKey(
                        name: "fk_rollback_events_routes_route_id",
                        column: x => x.route_id,
                        principalTable: "routes",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "route_targets",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    route_id = table.Column<Guid>(type: "uuid", nullable: false),
                    position = table.Column<int>(type: "integer", nullable: false),
                    provider_id = table.Column<Guid>(type: "uuid", nullable: false),
                    model_name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_route_targets", x => x.id);
                    table.ForeignKey(
                        name: "fk_route_targets_providers_provider_id",
                        column: x => x.provider_id,
                        principalTable: "providers",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "fk_route_targets_routes_route_id",
                        column: x => x.route_id,
                        principalTable: "routes",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "items",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityAlwaysColumn),
                    job_id = table.Column<Guid>(type: "uuid", nullable: false),
                    line_number = table.Column<int>(type: "integer", nullable: false),
                    custom_id = table.Column<string>(type: "character varying(512)", maxLength: 512, nullable: false),
                    state = table.Column<int>(type: "integer", nullable: false),
                    payload = table.Column<string>(type: "jsonb", nullable: false),
                    estimated_input_tokens = table.Column<int>(type: "integer", nullable: false),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    lease_token = table.Column<Guid>(type: "uuid", nullable: true),
                    lease_expires_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    response_text = table.Column<string>(type: "text", nullable: true),
                    response_body = table.Column<string>(type: "text", nullable: true),
                    finish_reason = table.Column<string>(type: "text", nullable: true),
                    input_tokens = table.Column<int>(type: "integer", nullable: true),
                    output_tokens = table.Column<int>(type: "integer", nullable: true),
                    cost_usd = table.Column<decimal>(type: "numeric(20,10)", precision: 20, scale: 10, nullable: true),
                    latency_ms = table.Column<int>(type: "integer", nullable: true),
                    provider_id = table.Column<Guid>(type: "uuid", nullable: true),
                    model_name = table.Column<string>(type: "text", nullable: true),
                    response_model = table.Column<string>(type: "text", nullable: true),
                    status_code = table.Column<int>(type: "integer", nullable: true),
                    error_code = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: true),
                    error_message = table.Column<string>(type: "text", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    completed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_items", x => x.id);
                    table.ForeignKey(
                        name: "fk_items_jobs_job_id",
                        column: x => x.job_id,
                        principalTable: "jobs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "attempts",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityAlwaysColumn),
                    item_id = table.Column<long>(type: "bigint", nullable: false),
                    job_id = table.Column<Guid>(type: "uuid", nullable: false),
                    number = table.Column<int>(type: "integer", nullable: false),
                    provider_id = table.Column<Guid>(type: "uuid", nullable: true),
                    provider_name = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    model_name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    status_code = table.Column<int>(type: "integer", nullable: true),
                    error_code = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: true),
                    error_message = table.Column<string>(type: "text", nullable: true),
                    latency_ms = table.Column<int>(type: "integer", nullable: false),
                    wait_ms = table.Column<int>(type: "integer", nullable: false),
                    fallback = table.Column<bool>(type: "boolean", nullable: false),
                    input_tokens = table.Column<int>(type: "integer", nullable: true),
                    output_tokens = table.Column<int>(type: "integer", nullable: true),
                    cost_usd = table.Column<decimal>(type: "numeric(20,10)", precision: 20, scale: 10, nullable: true),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_attempts", x => x.id);
                    table.ForeignKey(
                        name: "fk_attempts_items_item_id",
                        column: x => x.item_id,
                        principalTable: "items",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_attempts_item_id",
                table: "attempts",
                column: "item_id");

            migrationBuilder.CreateIndex(
                name: "ix_attempts_provider_name_model_name_started_at",
                table: "attempts",
                columns: new[] { "provider_name", "model_name", "started_at" });

            migrationBuilder.CreateIndex(
                name: "ix_attempts_started_at",
                table: "attempts",
                column: "started_at");

            migrationBuilder.CreateIndex(
                name: "ix_files_created_at",
                table: "files",
                column: "created_at");

            migrationBuilder.CreateIndex(
                name: "ix_files_job_id",
                table: "files",
                column: "job_id");

            migrationBuilder.CreateIndex(
                name: "ix_items_failed_error",
                table: "items",
                columns: new[] { "job_id", "error_code" },
                filter: "state = 3");

            migrationBuilder.CreateIndex(
                name: "ix_items_job_id_custom_id",
                table: "items",
                columns: new[] { "job_id", "custom_id" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_items_job_id_state_id",
                table: "items",
                columns: new[] { "job_id", "state", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_items_pending",
                table: "items",
                columns: new[] { "job_id", "id" },
                filter: "state = 0");

            migrationBuilder.CreateIndex(
                name: "ix_items_running_lease",
                table: "items",
                column: "lease_expires_at",
                filter: "state = 1");

            migrationBuilder.CreateIndex(
                name: "ix_jobs_created_at",
                table: "jobs",
                column: "created_at");

            migrationBuilder.CreateIndex(
                name: "ix_jobs_provider_id",
                table: "jobs",
                column: "provider_id");

            migrationBuilder.CreateIndex(
                name: "ix_jobs_route_id",
                table: "jobs",
                column: "route_id");

            migrationBuilder.CreateIndex(
                name: "ix_jobs_state",
                table: "jobs",
                column: "state");

            migrationBuilder.CreateIndex(
                name: "ix_provider_models_name",
                table: "provider_models",
                column: "name");

            migrationBuilder.CreateIndex(
                name: "ix_provider_models_provider_id_name",
                table: "provider_models",
                columns: new[] { "provider_id", "name" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_providers_name",
                table: "providers",
                column: "name",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_rollback_events_route_id_created_at",
                table: "rollback_events",
                columns: new[] { "route_id", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_route_targets_provider_id",
                table: "route_targets",
                column: "provider_id");

            migrationBuilder.CreateIndex(
                name: "ix_route_targets_route_id_position",
                table: "route_targets",
                columns: new[] { "route_id", "position" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_routes_name",
                table: "routes",
                column: "name",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "attempts");

            migrationBuilder.DropTable(
                name: "data_protection_keys");

            migrationBuilder.DropTable(
                name: "files");

            migrationBuilder.DropTable(
                name: "model_aliases");

            migrationBuilder.DropTable(
                name: "provider_models");

            migrationBuilder.DropTable(
                name: "rollback_events");

            migrationBuilder.DropTable(
                name: "route_targets");

            migrationBuilder.DropTable(
                name: "items");

            migrationBuilder.DropTable(
                name: "jobs");

            migrationBuilder.DropTable(
                name: "providers");

            migrationBuilder.DropTable(
                name: "routes");
        }
    }
}

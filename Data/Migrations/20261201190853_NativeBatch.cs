using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AspireBatch.Data.Migrations
{
    /// <inheritdoc />
    public partial class NativeBatch : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<decimal>(
                name: "batch_discount_percent",
                table: "providers",
                type: "numeric(5,2)",
                precision: 5,
                scale: 2,
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "supports_native_batch",
                table: "providers",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<decimal>(
                name: "batch_input_price_per_m_tok",
                table: "provider_models",
                type: "numeric(18,6)",
                precision: 18,
                scale: 6,
                nullable: true);

            migrationBuilder.AddColumn<decimal>(
                name: "batch_output_price_per_m_tok",
                table: "provider_models",
                type: "numeric(18,6)",
                precision: 18,
                scale: 6,
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "deadline",
                table: "jobs",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "mode",
                table: "jobs",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<Guid>(
                name: "provider_batch_id",
                table: "items",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<Guid>(
                name: "provider_batch_id",
                table: "attempts",
                type: "uuid",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "provider_batches",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    job_id = table.Column<Guid>(type: "uuid", nullable: false),
                    provider_id = table.Column<Guid>(type: "uuid", nullable: false),
                    model = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    endpoint = table.Column<int>(type: "integer", nullable: false),
                    state = table.Column<int>(type: "integer", nullable: false),
                    lease_token = table.Column<Guid>(type: "uuid", nullable: false),
                    remote_input_file_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    remote_batch_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    remote_status = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    remote_output_file_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    remote_error_file_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    line_count = table.Column<int>(type: "integer", nullable: false),
                    bytes = table.Column<long>(type: "bigint", nullable: false),
                    completed_lines = table.Column<int>(type: "integer", nullable: false),
                    failed_lines = table.Column<int>(type: "integer", nullable: false),
                    released_lines = table.Column<int>(type: "integer", nullable: false),
                    input_price_per_m_tok = table.Column<decimal>(type: "numeric(18,6)", precision: 18, scale: 6, nullable: false),
                    output_price_per_m_tok = table.Column<decimal>(type: "numeric(18,6)", precision: 18, scale: 6, nullable: false),
                    realtime_input_price_per_m_tok = table.Column<decimal>(type: "numeric(18,6)", precision: 18, scale: 6, nullable: false),
                    realtime_output_price_per_m_tok = table.Column<decimal>(type: "numeric(18,6)", precision: 18, scale: 6, nullable: false),
                    cancel_reason = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: true),
                    cancel_requested_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    cancel_sent_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    polls = table.Column<int>(type: "integer", nullable: false),
                    next_poll_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    error = table.Column<string>(type: "text", nullable: true),
                    trace_parent = table.Column<string>(type: "text", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    submitted_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    ended_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    done_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_provider_batches", x => x.id);
                    table.ForeignKey(
                        name: "fk_provider_batches_jobs_job_id",
                        column: x => x.job_id,
                        principalTable: "jobs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "fk_provider_batches_providers_provider_id",
                        column: x => x.provider_id,
                        principalTable: "providers",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateIndex(
                name: "ix_items_provider_batch",
                table: "items",
                column: "provider_batch_id",
                filter: "provider_batch_id IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_attempts_provider_batch",
                table: "attempts",
                column: "provider_batch_id",
                filter: "provider_batch_id IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_provider_batches_job_id_created_at",
                table: "provider_batches",
                columns: new[] { "job_id", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_provider_batches_open",
                table: "provider_batches",
                column: "next_poll_at",
                filter: "state <> 4");

            migrationBuilder.CreateIndex(
                name: "ix_provider_batches_provider_id",
                table: "provider_batches",
                column: "provider_id");

            migrationBuilder.AddForeignKey(
                name: "fk_items_provider_batches_provider_batch_id",
                table: "items",
                column: "provider_batch_id",
                principalTable: "provider_batches",
                principalColumn: "id",
                onDelete: ReferentialAction.SetNull);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "fk_items_provider_batches_provider_batch_id",
                table: "items");

            migrationBuilder.DropTable(
                name: "provider_batches");

            migrationBuilder.DropIndex(
                name: "ix_items_provider_batch",
                table: "items");

            migrationBuilder.DropIndex(
                name: "ix_attempts_provider_batch",
                table: "attempts");

            migrationBuilder.DropColumn(
                name: "batch_discount_percent",
                table: "providers");

            migrationBuilder.DropColumn(
                name: "supports_native_batch",
                table: "providers");

            migrationBuilder.DropColumn(
                name: "batch_input_price_per_m_tok",
                table: "provider_models");

            migrationBuilder.DropColumn(
                name: "batch_output_price_per_m_tok",
                table: "provider_models");

            migrationBuilder.DropColumn(
                name: "deadline",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "mode",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "provider_batch_id",
                table: "items");

            migrationBuilder.DropColumn(
                name: "provider_batch_id",
                table: "attempts");
        }
    }
}

using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AspireBatch.Data.Migrations
{
    /// <inheritdoc />
    public partial class RehearsalsCanaryLineage : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<double>(
                name: "max_error_rate",
                table: "route_targets",
                type: "double precision",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "max_mean_latency_ms",
                table: "route_targets",
                type: "double precision",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "min_success_rate",
                table: "route_targets",
                type: "double precision",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "weight",
                table: "route_targets",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "kind",
                table: "rollback_events",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<Guid>(
                name: "rehearsal_id",
                table: "rollback_events",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "parameters_hash",
                table: "jobs",
                type: "character varying(64)",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<Guid>(
                name: "rehearsal_id",
                table: "jobs",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "template_hash",
                table: "jobs",
                type: "character varying(64)",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "response_id",
                table: "items",
                type: "character varying(200)",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "result_attempt",
                table: "items",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "route_position",
                table: "items",
                type: "integer",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "rehearsals",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    source_job_id = table.Column<Guid>(type: "uuid", nullable: false),
                    sample_strategy = table.Column<int>(type: "integer", nullable: false),
                    sample_size = table.Column<int>(type: "integer", nullable: false),
                    seed = table.Column<int>(type: "integer", nullable: false),
                    stratify_field = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    sampled_items = table.Column<int>(type: "integer", nullable: false),
                    judge = table.Column<int>(type: "integer", nullable: false),
                    judge_fields = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: true),
                    judge_pattern = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: true),
                    budget_usd = table.Column<decimal>(type: "numeric(20,10)", precision: 20, scale: 10, nullable: true),
                    monthly_records = table.Column<long>(type: "bigint", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    cancelled_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_rehearsals", x => x.id);
                    table.ForeignKey(
                        name: "fk_rehearsals_jobs_source_job_id",
                        column: x => x.source_job_id,
                        principalTable: "jobs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "rehearsal_targets",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    rehearsal_id = table.Column<Guid>(type: "uuid", nullable: false),
                    position = table.Column<int>(type: "integer", nullable: false),
                    label = table.Column<string>(type: "character varying(300)", maxLength: 300, nullable: false),
                    route_id = table.Column<Guid>(type: "uuid", nullable: true),
                    provider_id = table.Column<Guid>(type: "uuid", nullable: true),
                    model_name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    is_baseline = table.Column<bool>(type: "boolean", nullable: false),
                    job_id = table.Column<Guid>(type: "uuid", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_rehearsal_targets", x => x.id);
                    table.ForeignKey(
                        name: "fk_rehearsal_targets_jobs_job_id",
                        column: x => x.job_id,
                        principalTable: "jobs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "fk_rehearsal_targets_rehearsals_rehearsal_id",
                        column: x => x.rehearsal_id,
                        principalTable: "rehearsals",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_rollback_events_rehearsal_id",
                table: "rollback_events",
                column: "rehearsal_id");

            migrationBuilder.CreateIndex(
                name: "ix_jobs_rehearsal_id",
                table: "jobs",
                column: "rehearsal_id",
                filter: "rehearsal_id IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_rehearsal_targets_job_id",
                table: "rehearsal_targets",
                column: "job_id");

            migrationBuilder.CreateIndex(
                name: "ix_rehearsal_targets_rehearsal_id_position",
                table: "rehearsal_targets",
                columns: new[] { "rehearsal_id", "position" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_rehearsals_created_at",
                table: "rehearsals",
                column: "created_at");

            migrationBuilder.CreateIndex(
                name: "ix_rehearsals_source_job_id",
                table: "rehearsals",
                column: "source_job_id");

            migrationBuilder.AddForeignKey(
                name: "fk_rollback_events_rehearsals_rehearsal_id",
                table: "rollback_events",
                column: "rehearsal_id",
                principalTable: "rehearsals",
                principalColumn: "id",
                onDelete: ReferentialAction.SetNull);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "fk_rollback_events_rehearsals_rehearsal_id",
                table: "rollback_events");

            migrationBuilder.DropTable(
                name: "rehearsal_targets");

            migrationBuilder.DropTable(
                name: "rehearsals");

            migrationBuilder.DropIndex(
                name: "ix_rollback_events_rehearsal_id",
                table: "rollback_events");

            migrationBuilder.DropIndex(
                name: "ix_jobs_rehearsal_id",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "max_error_rate",
                table: "route_targets");

            migrationBuilder.DropColumn(
                name: "max_mean_latency_ms",
                table: "route_targets");

            migrationBuilder.DropColumn(
                name: "min_success_rate",
                table: "route_targets");

            migrationBuilder.DropColumn(
                name: "weight",
                table: "route_targets");

            migrationBuilder.DropColumn(
                name: "kind",
                table: "rollback_events");

            migrationBuilder.DropColumn(
                name: "rehearsal_id",
                table: "rollback_events");

            migrationBuilder.DropColumn(
                name: "parameters_hash",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "rehearsal_id",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "template_hash",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "response_id",
                table: "items");

            migrationBuilder.DropColumn(
                name: "result_attempt",
                table: "items");

            migrationBuilder.DropColumn(
                name: "route_position",
                table: "items");
        }
    }
}

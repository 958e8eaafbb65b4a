using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AspireBatch.Data.Migrations
{
    /// <inheritdoc />
    public partial class RetentionPolicies : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "output_expires_after_seconds",
                table: "jobs",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "expires_at",
                table: "files",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "retention_policies",
                columns: table => new
                {
                    team = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    purge_finished_jobs_after_days = table.Column<int>(type: "integer", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_retention_policies", x => x.team);
                    table.CheckConstraint("ck_retention_policies_days", "purge_finished_jobs_after_days >= 1");
                });

            migrationBuilder.CreateIndex(
                name: "ix_files_expires_at",
                table: "files",
                column: "expires_at",
                filter: "expires_at IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "retention_policies");

            migrationBuilder.DropIndex(
                name: "ix_files_expires_at",
                table: "files");

            migrationBuilder.DropColumn(
                name: "output_expires_after_seconds",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "expires_at",
                table: "files");
        }
    }
}

using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AspireBatch.Data.Migrations
{
    /// <inheritdoc />
    public partial class TeamKeys : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<Guid>(
                name: "api_key_id",
                table: "jobs",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "team",
                table: "jobs",
                type: "character varying(100)",
                maxLength: 100,
                nullable: false,
                defaultValue: "admin");

            migrationBuilder.AddColumn<string>(
                name: "team",
                table: "files",
                type: "character varying(100)",
                maxLength: 100,
                nullable: false,
                defaultValue: "admin");

            migrationBuilder.CreateTable(
                name: "api_keys",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    team = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    scopes = table.Column<string[]>(type: "text[]", nullable: false),
                    hash = table.Column<byte[]>(type: "bytea", nullable: false),
                    prefix = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    requests_per_minute = table.Column<int>(type: "integer", nullable: true),
                    monthly_budget_usd = table.Column<decimal>(type: "numeric(20,10)", precision: 20, scale: 10, nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    last_used_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    revoked_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_api_keys", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_jobs_api_key_id_created_at",
                table: "jobs",
                columns: new[] { "api_key_id", "created_at" },
                filter: "api_key_id IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_jobs_team_created_at",
                table: "jobs",
                columns: new[] { "team", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_api_keys_hash",
                table: "api_keys",
                column: "hash",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "api_keys");

            migrationBuilder.DropIndex(
                name: "ix_jobs_api_key_id_created_at",
                table: "jobs");

            migrationBuilder.DropIndex(
                name: "ix_jobs_team_created_at",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "api_key_id",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "team",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "team",
                table: "files");
        }
    }
}

using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AspireBatch.Data.Migrations
{
    /// <inheritdoc />
    public partial class Dedup : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_items_pending",
                table: "items");

            migrationBuilder.AddColumn<bool>(
                name: "dedup",
                table: "jobs",
                type: "boolean",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "deduplicated_items",
                table: "jobs",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<long>(
                name: "duplicate_of",
                table: "items",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<byte[]>(
                name: "request_hash",
                table: "items",
                type: "bytea",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "ix_items_duplicate_of",
                table: "items",
                column: "duplicate_of",
                filter: "duplicate_of IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_items_pending",
                table: "items",
                columns: new[] { "job_id", "id" },
                filter: "state = 0 AND duplicate_of IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_items_duplicate_of",
                table: "items");

            migrationBuilder.DropIndex(
                name: "ix_items_pending",
                table: "items");

            migrationBuilder.DropColumn(
                name: "dedup",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "deduplicated_items",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "duplicate_of",
                table: "items");

            migrationBuilder.DropColumn(
                name: "request_hash",
                table: "items");

            migrationBuilder.CreateIndex(
                name: "ix_items_pending",
                table: "items",
                columns: new[] { "job_id", "id" },
                filter: "state = 0");
        }
    }
}

using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AspireBatch.Data.Migrations
{
    /// <inheritdoc />
    public partial class Retention : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "fk_attempts_items_item_id",
                table: "attempts");

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "purged_at",
                table: "jobs",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "purged_bytes",
                table: "jobs",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<int>(
                name: "purged_items",
                table: "jobs",
                type: "integer",
                nullable: false,
                defaultValue: 0);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "purged_at",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "purged_bytes",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "purged_items",
                table: "jobs");

            migrationBuilder.AddForeignKey(
                name: "fk_attempts_items_item_id",
                table: "attempts",
                column: "item_id",
                principalTable: "items",
                principalColumn: "id",
                onDelete: ReferentialAction.Cascade);
        }
    }
}

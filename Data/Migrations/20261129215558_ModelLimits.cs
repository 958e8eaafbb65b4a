using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AspireBatch.Data.Migrations
{
    /// <inheritdoc />
    public partial class ModelLimits : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "requests_per_minute",
                table: "provider_models",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "tokens_per_minute",
                table: "provider_models",
                type: "integer",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "requests_per_minute",
                table: "provider_models");

            migrationBuilder.DropColumn(
                name: "tokens_per_minute",
                table: "provider_models");
        }
    }
}

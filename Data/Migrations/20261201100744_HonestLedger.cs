using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AspireBatch.Data.Migrations
{
    /// <inheritdoc />
    public partial class HonestLedger : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<decimal>(
                name: "cached_input_price_per_m_tok",
                table: "provider_models",
                type: "numeric(18,6)",
                precision: 18,
                scale: 6,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "cached_input_tokens",
                table: "jobs",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<decimal>(
                name: "estimated_usage_cost_usd",
                table: "jobs",
                type: "numeric(20,10)",
                precision: 20,
                scale: 10,
                nullable: false,
                defaultValue: 0m);

            migrationBuilder.AddColumn<int>(
                name: "in_doubt_calls",
                table: "jobs",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<decimal>(
                name: "in_doubt_cost_usd",
                table: "jobs",
                type: "numeric(20,10)",
                precision: 20,
                scale: 10,
                nullable: false,
                defaultValue: 0m);

            migrationBuilder.AddColumn<long>(
                name: "reasoning_tokens",
                table: "jobs",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<int>(
                name: "cached_input_tokens",
                table: "items",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "calls_in_flight",
                table: "items",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "in_doubt_calls",
                table: "items",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<decimal>(
                name: "in_doubt_cost_usd",
                table: "items",
                type: "numeric(20,10)",
                precision: 20,
                scale: 10,
                nullable: false,
                defaultValue: 0m);

            migrationBuilder.AddColumn<decimal>(
                name: "in_flight_cost_usd",
                table: "items",
                type: "numeric(20,10)",
                precision: 20,
                scale: 10,
                nullable: false,
                defaultValue: 0m);

            migrationBuilder.AddColumn<string>(
                name: "in_flight_model",
                table: "items",
                type: "character varying(200)",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddColumn<Guid>(
                name: "in_flight_provider_id",
                table: "items",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "internal_errors",
                table: "items",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "reasoning_tokens",
                table: "items",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "usage_source",
                table: "items",
                type: "character varying(16)",
                maxLength: 16,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "cached_input_tokens",
                table: "attempts",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<decimal>(
                name: "possible_cost_usd",
                table: "attempts",
                type: "numeric(20,10)",
                precision: 20,
                scale: 10,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "reasoning_tokens",
                table: "attempts",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "usage_source",
                table: "attempts",
                type: "character varying(16)",
                maxLength: 16,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "cached_input_price_per_m_tok",
                table: "provider_models");

            migrationBuilder.DropColumn(
                name: "cached_input_tokens",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "estimated_usage_cost_usd",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "in_doubt_calls",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "in_doubt_cost_usd",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "reasoning_tokens",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "cached_input_tokens",
                table: "items");

            migrationBuilder.DropColumn(
                name: "calls_in_flight",
                table: "items");

            migrationBuilder.DropColumn(
                name: "in_doubt_calls",
                table: "items");

            migrationBuilder.DropColumn(
                name: "in_doubt_cost_usd",
                table: "items");

            migrationBuilder.DropColumn(
                name: "in_flight_cost_usd",
                table: "items");

            migrationBuilder.DropColumn(
                name: "in_flight_model",
                table: "items");

            migrationBuilder.DropColumn(
                name: "in_flight_provider_id",
                table: "items");

            migrationBuilder.DropColumn(
                name: "internal_errors",
                table: "items");

            migrationBuilder.DropColumn(
                name: "reasoning_tokens",
                table: "items");

            migrationBuilder.DropColumn(
                name: "usage_source",
                table: "items");

            migrationBuilder.DropColumn(
                name: "cached_input_tokens",
                table: "attempts");

            migrationBuilder.DropColumn(
                name: "possible_cost_usd",
                table: "attempts");

            migrationBuilder.DropColumn(
                name: "reasoning_tokens",
                table: "attempts");

            migrationBuilder.DropColumn(
                name: "usage_source",
                table: "attempts");
        }
    }
}

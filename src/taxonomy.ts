/**
 * The paper's label taxonomies (GEM, arXiv 2601.10355, Stage 1). The relevance judge tags every
 * segment with one value of each; extraction and reports reuse the same lists so that counts
 * line up across stages. Values are snake_case so they can be enum members of a strict JSON
 * schema and keys of `run.json` counters.
 */

/** Where the operations described by a text are carried out. */
export const PLATFORMS = ['operator', 'computer', 'phone', 'machine', 'other'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** Subject domain: the 26 top-level Google-style content categories the paper uses. */
export const DOMAINS = [
  'adult',
  'arts_and_entertainment',
  'autos_and_vehicles',
  'beauty_and_fitness',
  'books_and_literature',
  'business_and_industrial',
  'computers_and_electronics',
  'finance',
  'food_and_drink',
  'games',
  'health',
  'hobbies_and_leisure',
  'home_and_garden',
  'internet_and_telecom',
  'jobs_and_education',
  'law_and_government',
  'news',
  'online_communities',
  'people_and_society',
  'pets_and_animals',
  'real_estate',
  'science',
  'sensitive_subjects',
  'shopping',
  'sports',
  'travel_and_transportation',
] as const;
export type Domain = (typeof DOMAINS)[number];

/** Kind of tool-use task: the paper's 38 task categories (MCP-server style groupings). */
export const TASK_CATEGORIES = [
  'databases',
  'multimedia_processing',
  'cloud_platforms',
  'calendar_management',
  'cryptocurrency',
  'location_services',
  'communication',
  'search',
  'file_systems',
  'web_scraping',
  'ecommerce_and_retail',
  'customer_data_platforms',
  'developer_tools',
  'virtualization',
  'version_control',
  'research_and_data',
  'aigc',
  'travel_and_transportation',
  'note_taking',
  'language_translation',
  'rag_systems',
  'security_and_iam',
  'social_media',
  'monitoring',
  'weather_services',
  'customer_support',
  'blockchain',
  'knowledge_and_memory',
  'financial_trading',
  'marketing',
  'enterprise_business_intelligence',
  'transportation_logistics',
  'iphone_android',
  'smart_home',
  'education_elearning',
  'robot_control',
  'website_control',
  'gaming_entertainment',
] as const;
export type TaskCategory = (typeof TASK_CATEGORIES)[number];

/** True when `value` is one of the platform labels. */
export function isPlatform(value: string): value is Platform {
  return (PLATFORMS as readonly string[]).includes(value);
}
/** True when `value` is one of the domain labels. */
export function isDomain(value: string): value is Domain {
  return (DOMAINS as readonly string[]).includes(value);
}
/** True when `value` is one of the task category labels. */
export function isTaskCategory(value: string): value is TaskCategory {
  return (TASK_CATEGORIES as readonly string[]).includes(value);
}

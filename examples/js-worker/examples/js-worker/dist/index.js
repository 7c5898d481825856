var __defProp = Object.defineProperty;
var __name = (target, value) => __defProp(target, "name", { value, configurable: true });

// ../../js/dist/worker/shim.mjs
import fr from "./84fac1eb41ddb2ca459c207e1756efd9d03a3d58-index.wasm";
import { WorkerEntrypoint as br } from "cloudflare:workers";
var tt = Object.defineProperty;
var V = /* @__PURE__ */ __name((e3, t) => {
  for (var n in t) tt(e3, n, { get: t[n], enumerable: true });
}, "V");
var x = {};
V(x, { ContainerStartupOptions: /* @__PURE__ */ __name(() => S, "ContainerStartupOptions"), MinifyConfig: /* @__PURE__ */ __name(() => I, "MinifyConfig"), R2Range: /* @__PURE__ */ __name(() => R, "R2Range"), ScopeCore: /* @__PURE__ */ __name(() => k, "ScopeCore"), SessionLock: /* @__PURE__ */ __name(() => A, "SessionLock"), SessionsCore: /* @__PURE__ */ __name(() => z, "SessionsCore"), __wbg_Error_208446807d0d1e30: /* @__PURE__ */ __name(() => rt, "__wbg_Error_208446807d0d1e30"), __wbg_Number_ff192a72a0dcdf6d: /* @__PURE__ */ __name(() => _t, "__wbg_Number_ff192a72a0dcdf6d"), __wbg_String_8564e559799eccda: /* @__PURE__ */ __name(() => it, "__wbg_String_8564e559799eccda"), __wbg___wbindgen_bigint_get_as_i64_11da4b52cd0aedef: /* @__PURE__ */ __name(() => ot, "__wbg___wbindgen_bigint_get_as_i64_11da4b52cd0aedef"), __wbg___wbindgen_boolean_get_4f1baf9a00be3c74: /* @__PURE__ */ __name(() => st, "__wbg___wbindgen_boolean_get_4f1baf9a00be3c74"), __wbg___wbindgen_debug_string_f249a2a76caa9a55: /* @__PURE__ */ __name(() => ct, "__wbg___wbindgen_debug_string_f249a2a76caa9a55"), __wbg___wbindgen_in_3f58a9d3b3a7eed2: /* @__PURE__ */ __name(() => at, "__wbg___wbindgen_in_3f58a9d3b3a7eed2"), __wbg___wbindgen_is_bigint_5fa10641e039d3ef: /* @__PURE__ */ __name(() => ut, "__wbg___wbindgen_is_bigint_5fa10641e039d3ef"), __wbg___wbindgen_is_function_741ff2bb612836f5: /* @__PURE__ */ __name(() => ft, "__wbg___wbindgen_is_function_741ff2bb612836f5"), __wbg___wbindgen_is_null_c22311b1cc228e3a: /* @__PURE__ */ __name(() => bt, "__wbg___wbindgen_is_null_c22311b1cc228e3a"), __wbg___wbindgen_is_null_or_undefined_fb96af93c75460ae: /* @__PURE__ */ __name(() => gt, "__wbg___wbindgen_is_null_or_undefined_fb96af93c75460ae"), __wbg___wbindgen_is_object_8b968c3ab8e96595: /* @__PURE__ */ __name(() => dt, "__wbg___wbindgen_is_object_8b968c3ab8e96595"), __wbg___wbindgen_is_string_fc456fee5d3317de: /* @__PURE__ */ __name(() => wt, "__wbg___wbindgen_is_string_fc456fee5d3317de"), __wbg___wbindgen_is_undefined_be5b34249ff1fc15: /* @__PURE__ */ __name(() => pt, "__wbg___wbindgen_is_undefined_be5b34249ff1fc15"), __wbg___wbindgen_jsval_eq_38d7bfbe4cc84039: /* @__PURE__ */ __name(() => lt, "__wbg___wbindgen_jsval_eq_38d7bfbe4cc84039"), __wbg___wbindgen_jsval_loose_eq_b2f214e2e4b30e36: /* @__PURE__ */ __name(() => ht, "__wbg___wbindgen_jsval_loose_eq_b2f214e2e4b30e36"), __wbg___wbindgen_number_get_934b640d0889af78: /* @__PURE__ */ __name(() => mt, "__wbg___wbindgen_number_get_934b640d0889af78"), __wbg___wbindgen_reinit_2fe0d0b9c1cc3c21: /* @__PURE__ */ __name(() => yt, "__wbg___wbindgen_reinit_2fe0d0b9c1cc3c21"), __wbg___wbindgen_string_get_7ce8eee7fd327545: /* @__PURE__ */ __name(() => xt, "__wbg___wbindgen_string_get_7ce8eee7fd327545"), __wbg___wbindgen_throw_4c88d8bf264fd984: /* @__PURE__ */ __name(() => vt, "__wbg___wbindgen_throw_4c88d8bf264fd984"), __wbg__wbg_cb_unref_09736879a3f67559: /* @__PURE__ */ __name(() => It, "__wbg__wbg_cb_unref_09736879a3f67559"), __wbg_body_0da01a9a056907d8: /* @__PURE__ */ __name(() => kt, "__wbg_body_0da01a9a056907d8"), __wbg_buffer_aca05a93c046db1a: /* @__PURE__ */ __name(() => jt, "__wbg_buffer_aca05a93c046db1a"), __wbg_byobRequest_18280c78e462544c: /* @__PURE__ */ __name(() => Et, "__wbg_byobRequest_18280c78e462544c"), __wbg_byteLength_c5f3c188d5252e5b: /* @__PURE__ */ __name(() => Ft, "__wbg_byteLength_c5f3c188d5252e5b"), __wbg_byteOffset_63cdc7b38f33a45e: /* @__PURE__ */ __name(() => Wt, "__wbg_byteOffset_63cdc7b38f33a45e"), __wbg_call_275b78b3b6520b92: /* @__PURE__ */ __name(() => St, "__wbg_call_275b78b3b6520b92"), __wbg_call_40b008ba32f73991: /* @__PURE__ */ __name(() => Rt, "__wbg_call_40b008ba32f73991"), __wbg_call_a410eb4b59ed5965: /* @__PURE__ */ __name(() => At, "__wbg_call_a410eb4b59ed5965"), __wbg_call_fc92fee6137d452d: /* @__PURE__ */ __name(() => zt, "__wbg_call_fc92fee6137d452d"), __wbg_cancel_b195250778e9d8e7: /* @__PURE__ */ __name(() => Tt, "__wbg_cancel_b195250778e9d8e7"), __wbg_catch_fd4c7ea14fde9d83: /* @__PURE__ */ __name(() => Ot, "__wbg_catch_fd4c7ea14fde9d83"), __wbg_cause_4cdda1b55a30b227: /* @__PURE__ */ __name(() => Mt, "__wbg_cause_4cdda1b55a30b227"), __wbg_cf_3eef96d446a499c0: /* @__PURE__ */ __name(() => Ut, "__wbg_cf_3eef96d446a499c0"), __wbg_cf_e4bf1d08e9961dec: /* @__PURE__ */ __name(() => qt, "__wbg_cf_e4bf1d08e9961dec"), __wbg_clearTimeout_d859c3fbfd863ce7: /* @__PURE__ */ __name(() => Lt, "__wbg_clearTimeout_d859c3fbfd863ce7"), __wbg_close_294d3f727cb7a844: /* @__PURE__ */ __name(() => Nt, "__wbg_close_294d3f727cb7a844"), __wbg_close_bf94aa7e38b9a94b: /* @__PURE__ */ __name(() => Bt, "__wbg_close_bf94aa7e38b9a94b"), __wbg_constructor_76ad3e2c50d259de: /* @__PURE__ */ __name(() => Ct, "__wbg_constructor_76ad3e2c50d259de"), __wbg_debug_29e5044b8c3730bb: /* @__PURE__ */ __name(() => Dt, "__wbg_debug_29e5044b8c3730bb"), __wbg_deleteAlarm_e03d0e7e46b1af1c: /* @__PURE__ */ __name(() => Pt, "__wbg_deleteAlarm_e03d0e7e46b1af1c"), __wbg_deleteAll_e9ef46621cab9eee: /* @__PURE__ */ __name(() => Vt, "__wbg_deleteAll_e9ef46621cab9eee"), __wbg_delete_02b19cd8c3008b9a: /* @__PURE__ */ __name(() => Jt, "__wbg_delete_02b19cd8c3008b9a"), __wbg_done_57e08d0be6e30c02: /* @__PURE__ */ __name(() => $t, "__wbg_done_57e08d0be6e30c02"), __wbg_enqueue_c11626eae1c54509: /* @__PURE__ */ __name(() => Xt, "__wbg_enqueue_c11626eae1c54509"), __wbg_entries_7bb1459bd9b5c2b9: /* @__PURE__ */ __name(() => Gt, "__wbg_entries_7bb1459bd9b5c2b9"), __wbg_error_9b95f63d905893d2: /* @__PURE__ */ __name(() => Ht, "__wbg_error_9b95f63d905893d2"), __wbg_error_d1fc0193610e0e39: /* @__PURE__ */ __name(() => Yt, "__wbg_error_d1fc0193610e0e39"), __wbg_fetch_58e62838507dad34: /* @__PURE__ */ __name(() => Kt, "__wbg_fetch_58e62838507dad34"), __wbg_getByName_54117a7a05bfab4a: /* @__PURE__ */ __name(() => Qt, "__wbg_getByName_54117a7a05bfab4a"), __wbg_getRandomValues_5d8c030b527203a6: /* @__PURE__ */ __name(() => Zt, "__wbg_getRandomValues_5d8c030b527203a6"), __wbg_getReader_3b3096cf504fce5e: /* @__PURE__ */ __name(() => te, "__wbg_getReader_3b3096cf504fce5e"), __wbg_getTime_edc91481cbc4cd78: /* @__PURE__ */ __name(() => ee, "__wbg_getTime_edc91481cbc4cd78"), __wbg_get_0ae635d02d232017: /* @__PURE__ */ __name(() => ne, "__wbg_get_0ae635d02d232017"), __wbg_get_2080c49015e35254: /* @__PURE__ */ __name(() => re, "__wbg_get_2080c49015e35254"), __wbg_get_556f1c9a5c587e8c: /* @__PURE__ */ __name(() => _e, "__wbg_get_556f1c9a5c587e8c"), __wbg_get_635eea311fa1a291: /* @__PURE__ */ __name(() => ie, "__wbg_get_635eea311fa1a291"), __wbg_get_d50e09af39626749: /* @__PURE__ */ __name(() => oe, "__wbg_get_d50e09af39626749"), __wbg_get_d7176cfb76d71114: /* @__PURE__ */ __name(() => se, "__wbg_get_d7176cfb76d71114"), __wbg_get_done_3bf2b4a34e149301: /* @__PURE__ */ __name(() => ce, "__wbg_get_done_3bf2b4a34e149301"), __wbg_get_unchecked_e6325ad374eff861: /* @__PURE__ */ __name(() => ae, "__wbg_get_unchecked_e6325ad374eff861"), __wbg_get_value_9454480da7066d61: /* @__PURE__ */ __name(() => ue, "__wbg_get_value_9454480da7066d61"), __wbg_get_with_ref_key_fc601247060b7204: /* @__PURE__ */ __name(() => fe, "__wbg_get_with_ref_key_fc601247060b7204"), __wbg_headers_5fc0106c076eb731: /* @__PURE__ */ __name(() => be, "__wbg_headers_5fc0106c076eb731"), __wbg_headers_9ef80dd266706f48: /* @__PURE__ */ __name(() => ge, "__wbg_headers_9ef80dd266706f48"), __wbg_instanceId_65a51bedfd10160a: /* @__PURE__ */ __name(() => de, "__wbg_instanceId_65a51bedfd10160a"), __wbg_instanceof_ArrayBuffer_12cdaa4161423e6b: /* @__PURE__ */ __name(() => we, "__wbg_instanceof_ArrayBuffer_12cdaa4161423e6b"), __wbg_instanceof_Error_74e3cca0c4a69161: /* @__PURE__ */ __name(() => pe, "__wbg_instanceof_Error_74e3cca0c4a69161"), __wbg_instanceof_Map_0b4fc8b62e73f163: /* @__PURE__ */ __name(() => le, "__wbg_instanceof_Map_0b4fc8b62e73f163"), __wbg_instanceof_ReadableStream_ac28304925ec0f96: /* @__PURE__ */ __name(() => he, "__wbg_instanceof_ReadableStream_ac28304925ec0f96"), __wbg_instanceof_Response_5b0b4f7f1daeae51: /* @__PURE__ */ __name(() => me, "__wbg_instanceof_Response_5b0b4f7f1daeae51"), __wbg_instanceof_Uint8Array_d7aeb0dcb3108fea: /* @__PURE__ */ __name(() => ye, "__wbg_instanceof_Uint8Array_d7aeb0dcb3108fea"), __wbg_isArray_bcf1376d0d732d08: /* @__PURE__ */ __name(() => xe, "__wbg_isArray_bcf1376d0d732d08"), __wbg_isSafeInteger_1a35ba4d31e71d38: /* @__PURE__ */ __name(() => ve, "__wbg_isSafeInteger_1a35ba4d31e71d38"), __wbg_iterator_e4c5e8f68ada7b58: /* @__PURE__ */ __name(() => Ie, "__wbg_iterator_e4c5e8f68ada7b58"), __wbg_keys_296846770c088f87: /* @__PURE__ */ __name(() => ke, "__wbg_keys_296846770c088f87"), __wbg_length_186163212ffe79c3: /* @__PURE__ */ __name(() => je, "__wbg_length_186163212ffe79c3"), __wbg_length_b03a0fabb109b1e9: /* @__PURE__ */ __name(() => Ee, "__wbg_length_b03a0fabb109b1e9"), __wbg_message_43d8c8f1d543a349: /* @__PURE__ */ __name(() => Fe, "__wbg_message_43d8c8f1d543a349"), __wbg_method_3d406ebab4dd9853: /* @__PURE__ */ __name(() => We, "__wbg_method_3d406ebab4dd9853"), __wbg_minifyconfig_new: /* @__PURE__ */ __name(() => Se, "__wbg_minifyconfig_new"), __wbg_name_d1fa514fdca6a975: /* @__PURE__ */ __name(() => Re, "__wbg_name_d1fa514fdca6a975"), __wbg_name_fd11f69c917c5670: /* @__PURE__ */ __name(() => Ae, "__wbg_name_fd11f69c917c5670"), __wbg_new_0_36d738a0c8cfac43: /* @__PURE__ */ __name(() => ze, "__wbg_new_0_36d738a0c8cfac43"), __wbg_new_13de428334042d26: /* @__PURE__ */ __name(() => Te, "__wbg_new_13de428334042d26"), __wbg_new_277c27c26f94cbc2: /* @__PURE__ */ __name(() => Oe, "__wbg_new_277c27c26f94cbc2"), __wbg_new_37eb45aaf5eeb820: /* @__PURE__ */ __name(() => Me, "__wbg_new_37eb45aaf5eeb820"), __wbg_new_3e95cd7386bb9a6c: /* @__PURE__ */ __name(() => Ue, "__wbg_new_3e95cd7386bb9a6c"), __wbg_new_7075786089b89c5e: /* @__PURE__ */ __name(() => qe, "__wbg_new_7075786089b89c5e"), __wbg_new_787b9fb330d55d78: /* @__PURE__ */ __name(() => Le, "__wbg_new_787b9fb330d55d78"), __wbg_new_96baed0986e0d99f: /* @__PURE__ */ __name(() => Ne, "__wbg_new_96baed0986e0d99f"), __wbg_new_cd4348290afae586: /* @__PURE__ */ __name(() => Be, "__wbg_new_cd4348290afae586"), __wbg_new_typed_e09da9dae6ee5935: /* @__PURE__ */ __name(() => Ce, "__wbg_new_typed_e09da9dae6ee5935"), __wbg_new_with_byte_offset_and_length_3cd32055a417f095: /* @__PURE__ */ __name(() => De, "__wbg_new_with_byte_offset_and_length_3cd32055a417f095"), __wbg_new_with_length_01b143a7e5dd5a3e: /* @__PURE__ */ __name(() => Pe, "__wbg_new_with_length_01b143a7e5dd5a3e"), __wbg_new_with_opt_buffer_source_and_init_efb63b64b37a12c7: /* @__PURE__ */ __name(() => Ve, "__wbg_new_with_opt_buffer_source_and_init_efb63b64b37a12c7"), __wbg_new_with_opt_readable_stream_and_init_383c64eccf9e9cc7: /* @__PURE__ */ __name(() => Je, "__wbg_new_with_opt_readable_stream_and_init_383c64eccf9e9cc7"), __wbg_new_with_opt_str_and_init_6456bed24baae6fc: /* @__PURE__ */ __name(() => $e, "__wbg_new_with_opt_str_and_init_6456bed24baae6fc"), __wbg_new_with_str_and_init_d9f6b5611184e16b: /* @__PURE__ */ __name(() => Xe, "__wbg_new_with_str_and_init_d9f6b5611184e16b"), __wbg_next_178c1651c11432b3: /* @__PURE__ */ __name(() => Ge, "__wbg_next_178c1651c11432b3"), __wbg_next_af5ac6a08bb0a717: /* @__PURE__ */ __name(() => He, "__wbg_next_af5ac6a08bb0a717"), __wbg_pathname_0a541f1ec71ba5a7: /* @__PURE__ */ __name(() => Ye, "__wbg_pathname_0a541f1ec71ba5a7"), __wbg_prototypesetcall_13162965d1fe7aa3: /* @__PURE__ */ __name(() => Ke, "__wbg_prototypesetcall_13162965d1fe7aa3"), __wbg_put_e23699e64023d941: /* @__PURE__ */ __name(() => Qe, "__wbg_put_e23699e64023d941"), __wbg_queueMicrotask_1e8503a8a690f0a3: /* @__PURE__ */ __name(() => Ze, "__wbg_queueMicrotask_1e8503a8a690f0a3"), __wbg_queueMicrotask_4a1a4d8dd332373b: /* @__PURE__ */ __name(() => tn, "__wbg_queueMicrotask_4a1a4d8dd332373b"), __wbg_read_e3bea75dace70752: /* @__PURE__ */ __name(() => en, "__wbg_read_e3bea75dace70752"), __wbg_readable_11d72b62fcfdd1ec: /* @__PURE__ */ __name(() => nn, "__wbg_readable_11d72b62fcfdd1ec"), __wbg_releaseLock_eddf1401c763f0b9: /* @__PURE__ */ __name(() => rn, "__wbg_releaseLock_eddf1401c763f0b9"), __wbg_resolve_dbf78ab4942478b0: /* @__PURE__ */ __name(() => _n, "__wbg_resolve_dbf78ab4942478b0"), __wbg_respond_d97c023ee981d1f5: /* @__PURE__ */ __name(() => on, "__wbg_respond_d97c023ee981d1f5"), __wbg_setAlarm_039d09296f34bacd: /* @__PURE__ */ __name(() => sn, "__wbg_setAlarm_039d09296f34bacd"), __wbg_setTimeout_7b54aa5f72cd7066: /* @__PURE__ */ __name(() => cn, "__wbg_setTimeout_7b54aa5f72cd7066"), __wbg_set_2793479888329cb6: /* @__PURE__ */ __name(() => an, "__wbg_set_2793479888329cb6"), __wbg_set_8282f7e0d2d01336: /* @__PURE__ */ __name(() => un, "__wbg_set_8282f7e0d2d01336"), __wbg_set_bcb0ec2400cfa22e: /* @__PURE__ */ __name(() => fn, "__wbg_set_bcb0ec2400cfa22e"), __wbg_set_body_877d5251e78ca815: /* @__PURE__ */ __name(() => bn, "__wbg_set_body_877d5251e78ca815"), __wbg_set_cache_7a23201e29cbd632: /* @__PURE__ */ __name(() => gn, "__wbg_set_cache_7a23201e29cbd632"), __wbg_set_criticalError_c30445da7038dbf2: /* @__PURE__ */ __name(() => dn, "__wbg_set_criticalError_c30445da7038dbf2"), __wbg_set_d2d33b52458e984a: /* @__PURE__ */ __name(() => wn, "__wbg_set_d2d33b52458e984a"), __wbg_set_e4b9a833d288759a: /* @__PURE__ */ __name(() => pn, "__wbg_set_e4b9a833d288759a"), __wbg_set_feb3714f475485ba: /* @__PURE__ */ __name(() => ln, "__wbg_set_feb3714f475485ba"), __wbg_set_headers_07f10dbe49bc0e77: /* @__PURE__ */ __name(() => hn, "__wbg_set_headers_07f10dbe49bc0e77"), __wbg_set_headers_6d75a7df4eb22716: /* @__PURE__ */ __name(() => mn, "__wbg_set_headers_6d75a7df4eb22716"), __wbg_set_instanceId_6f5f77d81e249b49: /* @__PURE__ */ __name(() => yn, "__wbg_set_instanceId_6f5f77d81e249b49"), __wbg_set_method_639e69af35614d36: /* @__PURE__ */ __name(() => xn, "__wbg_set_method_639e69af35614d36"), __wbg_set_redirect_a95a432ab7d10765: /* @__PURE__ */ __name(() => vn, "__wbg_set_redirect_a95a432ab7d10765"), __wbg_set_status_bd9dc81d1c17b108: /* @__PURE__ */ __name(() => In, "__wbg_set_status_bd9dc81d1c17b108"), __wbg_set_wasm: /* @__PURE__ */ __name(() => P, "__wbg_set_wasm"), __wbg_static_accessor_GLOBAL_THIS_003ee833af9699fc: /* @__PURE__ */ __name(() => kn, "__wbg_static_accessor_GLOBAL_THIS_003ee833af9699fc"), __wbg_static_accessor_GLOBAL_e4293fb22cbe77da: /* @__PURE__ */ __name(() => jn, "__wbg_static_accessor_GLOBAL_e4293fb22cbe77da"), __wbg_static_accessor_INIT_STATE_b2269150d11f01e0: /* @__PURE__ */ __name(() => En, "__wbg_static_accessor_INIT_STATE_b2269150d11f01e0"), __wbg_static_accessor_SELF_53bb20457401453d: /* @__PURE__ */ __name(() => Fn, "__wbg_static_accessor_SELF_53bb20457401453d"), __wbg_static_accessor_WINDOW_b5e0810bfecb7feb: /* @__PURE__ */ __name(() => Wn, "__wbg_static_accessor_WINDOW_b5e0810bfecb7feb"), __wbg_status_cb85b6c8d1769fa1: /* @__PURE__ */ __name(() => Sn, "__wbg_status_cb85b6c8d1769fa1"), __wbg_storage_00d86055b2dc3100: /* @__PURE__ */ __name(() => Rn, "__wbg_storage_00d86055b2dc3100"), __wbg_stringify_0a0fbf2ef722380a: /* @__PURE__ */ __name(() => An, "__wbg_stringify_0a0fbf2ef722380a"), __wbg_text_2d9a65a87b992bc0: /* @__PURE__ */ __name(() => zn, "__wbg_text_2d9a65a87b992bc0"), __wbg_then_656f253a5dd7d8ea: /* @__PURE__ */ __name(() => Tn, "__wbg_then_656f253a5dd7d8ea"), __wbg_then_e3f7f2d365708be8: /* @__PURE__ */ __name(() => On, "__wbg_then_e3f7f2d365708be8"), __wbg_url_1be993c7b186415b: /* @__PURE__ */ __name(() => Mn, "__wbg_url_1be993c7b186415b"), __wbg_value_e0f328965e184931: /* @__PURE__ */ __name(() => Un, "__wbg_value_e0f328965e184931"), __wbg_view_3b708d3bdaf3fc96: /* @__PURE__ */ __name(() => qn, "__wbg_view_3b708d3bdaf3fc96"), __wbg_waitUntil_0c139a1768f7d284: /* @__PURE__ */ __name(() => Ln, "__wbg_waitUntil_0c139a1768f7d284"), __wbg_warn_228ff2257384d295: /* @__PURE__ */ __name(() => Nn, "__wbg_warn_228ff2257384d295"), __wbg_webSocket_71791e807603b1e4: /* @__PURE__ */ __name(() => Bn, "__wbg_webSocket_71791e807603b1e4"), __wbg_writable_1924ab50750acb0f: /* @__PURE__ */ __name(() => Cn, "__wbg_writable_1924ab50750acb0f"), __wbindgen_generic_0000000000000001: /* @__PURE__ */ __name(() => Dn, "__wbindgen_generic_0000000000000001"), __wbindgen_generic_0000000000000002: /* @__PURE__ */ __name(() => Pn, "__wbindgen_generic_0000000000000002"), __wbindgen_generic_0000000000000003: /* @__PURE__ */ __name(() => Vn, "__wbindgen_generic_0000000000000003"), __wbindgen_generic_0000000000000004: /* @__PURE__ */ __name(() => Jn, "__wbindgen_generic_0000000000000004"), __wbindgen_generic_0000000000000005: /* @__PURE__ */ __name(() => $n, "__wbindgen_generic_0000000000000005"), __wbindgen_generic_0000000000000006: /* @__PURE__ */ __name(() => Xn, "__wbindgen_generic_0000000000000006"), __wbindgen_generic_0000000000000007: /* @__PURE__ */ __name(() => Gn, "__wbindgen_generic_0000000000000007"), __wbindgen_init_externref_table: /* @__PURE__ */ __name(() => Hn, "__wbindgen_init_externref_table"), __worker_init_state: /* @__PURE__ */ __name(() => nt, "__worker_init_state") });
var N = {};
V(N, { state: /* @__PURE__ */ __name(() => L, "state") });
var L = globalThis.__worker_init_state = { criticalError: false, instanceId: 0 };
var S = class {
  static {
    __name(this, "S");
  }
  __destroy_into_raw() {
    let t = this.__wbg_ptr;
    return this.__wbg_ptr = 0, rr.unregister(this), t;
  }
  free() {
    let t = this.__destroy_into_raw();
    s(), r.__wbg_containerstartupoptions_free(t, 0);
  }
  get enableInternet() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let t;
    return s(), t = r.__wbg_get_containerstartupoptions_enableInternet(this.__wbg_ptr), t === 16777215 ? void 0 : t !== 0;
  }
  get entrypoint() {
    try {
      if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
      let o = r.__wbindgen_add_to_stack_pointer(-16) >>> 0;
      s(), r.__wbg_get_containerstartupoptions_entrypoint(o, this.__wbg_ptr);
      var t = c().getInt32(o + 0, true), n = c().getInt32(o + 4, true), _ = K(t, n);
      return r.__wbindgen_export3(t, n * 4, 4), _;
    } finally {
      r.__wbindgen_add_to_stack_pointer(16);
    }
  }
  get env() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let t;
    return s(), t = r.__wbg_get_containerstartupoptions_env(this.__wbg_ptr), t;
  }
  set enableInternet(t) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    s(), r.__wbg_set_containerstartupoptions_enableInternet(this.__wbg_ptr, g(t) ? 16777215 : t ? 1 : 0);
  }
  set entrypoint(t) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let n = cr(t, r.__wbindgen_export), _ = p;
    s(), r.__wbg_set_containerstartupoptions_entrypoint(this.__wbg_ptr, n, _);
  }
  set env(t) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    s(), r.__wbg_set_containerstartupoptions_env(this.__wbg_ptr, t);
  }
};
Symbol.dispose && (S.prototype[Symbol.dispose] = S.prototype.free);
var O = class {
  static {
    __name(this, "O");
  }
  __destroy_into_raw() {
    let t = this.__wbg_ptr;
    return this.__wbg_ptr = 0, _r.unregister(this), t;
  }
  free() {
    let t = this.__destroy_into_raw();
    s(), r.__wbg_intounderlyingbytesource_free(t, 0);
  }
  get autoAllocateChunkSize() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let t;
    return s(), t = r.intounderlyingbytesource_autoAllocateChunkSize(this.__wbg_ptr), t >>> 0;
  }
  cancel() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let t = this.__destroy_into_raw();
    s(), r.intounderlyingbytesource_cancel(t);
  }
  pull(t) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let n;
    return s(), n = r.intounderlyingbytesource_pull(this.__wbg_ptr, t), n;
  }
  start(t) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    s(), r.intounderlyingbytesource_start(this.__wbg_ptr, t);
  }
  get type() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let t;
    return s(), t = r.intounderlyingbytesource_type(this.__wbg_ptr), tr[t];
  }
};
Symbol.dispose && (O.prototype[Symbol.dispose] = O.prototype.free);
var M = class {
  static {
    __name(this, "M");
  }
  __destroy_into_raw() {
    let t = this.__wbg_ptr;
    return this.__wbg_ptr = 0, ir.unregister(this), t;
  }
  free() {
    let t = this.__destroy_into_raw();
    s(), r.__wbg_intounderlyingsink_free(t, 0);
  }
  abort(t) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let n = this.__destroy_into_raw(), _;
    return s(), _ = r.intounderlyingsink_abort(n, t), _;
  }
  close() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let t = this.__destroy_into_raw(), n;
    return s(), n = r.intounderlyingsink_close(t), n;
  }
  write(t) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let n;
    return s(), n = r.intounderlyingsink_write(this.__wbg_ptr, t), n;
  }
};
Symbol.dispose && (M.prototype[Symbol.dispose] = M.prototype.free);
var U = class {
  static {
    __name(this, "U");
  }
  __destroy_into_raw() {
    let t = this.__wbg_ptr;
    return this.__wbg_ptr = 0, or.unregister(this), t;
  }
  free() {
    let t = this.__destroy_into_raw();
    s(), r.__wbg_intounderlyingsource_free(t, 0);
  }
  cancel() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let t = this.__destroy_into_raw();
    s(), r.intounderlyingsource_cancel(t);
  }
  pull(t) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let n;
    return s(), n = r.intounderlyingsource_pull(this.__wbg_ptr, t), n;
  }
};
Symbol.dispose && (U.prototype[Symbol.dispose] = U.prototype.free);
var I = class e {
  static {
    __name(this, "e");
  }
  static __wrap(t) {
    let n = Object.create(e.prototype);
    return n.__wbg_ptr = t, Object.defineProperty(n, "__wbg_inst", { value: i, writable: true }), J.register(n, { ptr: t, instance: i }, n), n;
  }
  __destroy_into_raw() {
    let t = this.__wbg_ptr;
    return this.__wbg_ptr = 0, J.unregister(this), t;
  }
  free() {
    let t = this.__destroy_into_raw();
    s(), r.__wbg_minifyconfig_free(t, 0);
  }
  get css() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let t;
    return s(), t = r.__wbg_get_minifyconfig_css(this.__wbg_ptr), t !== 0;
  }
  get html() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let t;
    return s(), t = r.__wbg_get_minifyconfig_html(this.__wbg_ptr), t !== 0;
  }
  get js() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let t;
    return s(), t = r.__wbg_get_minifyconfig_js(this.__wbg_ptr), t !== 0;
  }
  set css(t) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    s(), r.__wbg_set_minifyconfig_css(this.__wbg_ptr, t);
  }
  set html(t) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    s(), r.__wbg_set_minifyconfig_html(this.__wbg_ptr, t);
  }
  set js(t) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    s(), r.__wbg_set_minifyconfig_js(this.__wbg_ptr, t);
  }
};
Symbol.dispose && (I.prototype[Symbol.dispose] = I.prototype.free);
var R = class {
  static {
    __name(this, "R");
  }
  __destroy_into_raw() {
    let t = this.__wbg_ptr;
    return this.__wbg_ptr = 0, sr.unregister(this), t;
  }
  free() {
    let t = this.__destroy_into_raw();
    s(), r.__wbg_r2range_free(t, 0);
  }
  get length() {
    try {
      if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
      let _ = r.__wbindgen_add_to_stack_pointer(-16) >>> 0;
      s(), r.__wbg_get_r2range_length(_, this.__wbg_ptr);
      var t = c().getInt32(_ + 0, true), n = c().getFloat64(_ + 8, true);
      return t === 0 ? void 0 : n;
    } finally {
      r.__wbindgen_add_to_stack_pointer(16);
    }
  }
  get offset() {
    try {
      if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
      let _ = r.__wbindgen_add_to_stack_pointer(-16) >>> 0;
      s(), r.__wbg_get_r2range_offset(_, this.__wbg_ptr);
      var t = c().getInt32(_ + 0, true), n = c().getFloat64(_ + 8, true);
      return t === 0 ? void 0 : n;
    } finally {
      r.__wbindgen_add_to_stack_pointer(16);
    }
  }
  get suffix() {
    try {
      if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
      let _ = r.__wbindgen_add_to_stack_pointer(-16) >>> 0;
      s(), r.__wbg_get_r2range_suffix(_, this.__wbg_ptr);
      var t = c().getInt32(_ + 0, true), n = c().getFloat64(_ + 8, true);
      return t === 0 ? void 0 : n;
    } finally {
      r.__wbindgen_add_to_stack_pointer(16);
    }
  }
  set length(t) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    s(), r.__wbg_set_r2range_length(this.__wbg_ptr, !g(t), g(t) ? 0 : t);
  }
  set offset(t) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    s(), r.__wbg_set_r2range_offset(this.__wbg_ptr, !g(t), g(t) ? 0 : t);
  }
  set suffix(t) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    s(), r.__wbg_set_r2range_suffix(this.__wbg_ptr, !g(t), g(t) ? 0 : t);
  }
};
Symbol.dispose && (R.prototype[Symbol.dispose] = R.prototype.free);
var k = class e2 {
  static {
    __name(this, "e");
  }
  static __wrap(t) {
    let n = Object.create(e2.prototype);
    return n.__wbg_ptr = t, Object.defineProperty(n, "__wbg_inst", { value: i, writable: true }), $.register(n, { ptr: t, instance: i }, n), n;
  }
  __destroy_into_raw() {
    let t = this.__wbg_ptr;
    return this.__wbg_ptr = 0, $.unregister(this), t;
  }
  free() {
    let t = this.__destroy_into_raw();
    s(), r.__wbg_scopecore_free(t, 0);
  }
  abandon() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let t;
    return s(), t = r.scopecore_abandon(this.__wbg_ptr), t;
  }
  acquire() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let t;
    return s(), t = r.scopecore_acquire(this.__wbg_ptr), t;
  }
  dataJson() {
    let t, n;
    try {
      if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
      let w = r.__wbindgen_add_to_stack_pointer(-16) >>> 0;
      s(), r.scopecore_dataJson(w, this.__wbg_ptr);
      var _ = c().getInt32(w + 0, true), o = c().getInt32(w + 4, true), u = c().getInt32(w + 8, true), a = c().getInt32(w + 12, true), b = _, d = o;
      if (a) throw b = 0, d = 0, h(u);
      return t = b, n = d, l(b, d);
    } finally {
      r.__wbindgen_add_to_stack_pointer(16), s(), r.__wbindgen_export3(t, n, 1);
    }
  }
  destroy() {
    try {
      if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
      let _ = r.__wbindgen_add_to_stack_pointer(-16) >>> 0;
      s(), r.scopecore_destroy(_, this.__wbg_ptr);
      var t = c().getInt32(_ + 0, true), n = c().getInt32(_ + 4, true);
      if (n) throw h(t);
    } finally {
      r.__wbindgen_add_to_stack_pointer(16);
    }
  }
  finish(t) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let n;
    return s(), n = r.scopecore_finish(this.__wbg_ptr, t), n;
  }
  get(t) {
    try {
      if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
      let a = r.__wbindgen_add_to_stack_pointer(-16) >>> 0, b = m(t, r.__wbindgen_export, r.__wbindgen_export2), d = p;
      s(), r.scopecore_get(a, this.__wbg_ptr, b, d);
      var n = c().getInt32(a + 0, true), _ = c().getInt32(a + 4, true), o = c().getInt32(a + 8, true), u = c().getInt32(a + 12, true);
      if (u) throw h(o);
      let w;
      return n !== 0 && (w = l(n, _), r.__wbindgen_export3(n, _ * 1, 1)), w;
    } finally {
      r.__wbindgen_add_to_stack_pointer(16);
    }
  }
  has(t) {
    try {
      if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
      let u = r.__wbindgen_add_to_stack_pointer(-16) >>> 0, a = m(t, r.__wbindgen_export, r.__wbindgen_export2), b = p;
      s(), r.scopecore_has(u, this.__wbg_ptr, a, b);
      var n = c().getInt32(u + 0, true), _ = c().getInt32(u + 4, true), o = c().getInt32(u + 8, true);
      if (o) throw h(_);
      return n !== 0;
    } finally {
      r.__wbindgen_add_to_stack_pointer(16);
    }
  }
  holdsLock() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let t;
    return s(), t = r.scopecore_holdsLock(this.__wbg_ptr), t !== 0;
  }
  id() {
    let t, n;
    try {
      if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
      let w = r.__wbindgen_add_to_stack_pointer(-16) >>> 0;
      s(), r.scopecore_id(w, this.__wbg_ptr);
      var _ = c().getInt32(w + 0, true), o = c().getInt32(w + 4, true), u = c().getInt32(w + 8, true), a = c().getInt32(w + 12, true), b = _, d = o;
      if (a) throw b = 0, d = 0, h(u);
      return t = b, n = d, l(b, d);
    } finally {
      r.__wbindgen_add_to_stack_pointer(16), s(), r.__wbindgen_export3(t, n, 1);
    }
  }
  isNew() {
    try {
      if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
      let o = r.__wbindgen_add_to_stack_pointer(-16) >>> 0;
      s(), r.scopecore_isNew(o, this.__wbg_ptr);
      var t = c().getInt32(o + 0, true), n = c().getInt32(o + 4, true), _ = c().getInt32(o + 8, true);
      if (_) throw h(n);
      return t !== 0;
    } finally {
      r.__wbindgen_add_to_stack_pointer(16);
    }
  }
  keys() {
    try {
      if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
      let a = r.__wbindgen_add_to_stack_pointer(-16) >>> 0;
      s(), r.scopecore_keys(a, this.__wbg_ptr);
      var t = c().getInt32(a + 0, true), n = c().getInt32(a + 4, true), _ = c().getInt32(a + 8, true), o = c().getInt32(a + 12, true);
      if (o) throw h(_);
      var u = K(t, n);
      return r.__wbindgen_export3(t, n * 4, 4), u;
    } finally {
      r.__wbindgen_add_to_stack_pointer(16);
    }
  }
  load() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let t;
    return s(), t = r.scopecore_load(this.__wbg_ptr), t;
  }
  regenerate() {
    try {
      if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
      let _ = r.__wbindgen_add_to_stack_pointer(-16) >>> 0;
      s(), r.scopecore_regenerate(_, this.__wbg_ptr);
      var t = c().getInt32(_ + 0, true), n = c().getInt32(_ + 4, true);
      if (n) throw h(t);
    } finally {
      r.__wbindgen_add_to_stack_pointer(16);
    }
  }
  release() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let t;
    return s(), t = r.scopecore_release(this.__wbg_ptr), t;
  }
  remove(t) {
    try {
      if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
      let u = r.__wbindgen_add_to_stack_pointer(-16) >>> 0, a = m(t, r.__wbindgen_export, r.__wbindgen_export2), b = p;
      s(), r.scopecore_remove(u, this.__wbg_ptr, a, b);
      var n = c().getInt32(u + 0, true), _ = c().getInt32(u + 4, true), o = c().getInt32(u + 8, true);
      if (o) throw h(_);
      return n !== 0;
    } finally {
      r.__wbindgen_add_to_stack_pointer(16);
    }
  }
  set(t, n) {
    try {
      if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
      let u = r.__wbindgen_add_to_stack_pointer(-16) >>> 0, a, b, d, w;
      try {
        a = m(t, r.__wbindgen_export, r.__wbindgen_export2), b = p, d = m(n, r.__wbindgen_export, r.__wbindgen_export2), w = p;
      } catch (Z) {
        throw d && r.__wbindgen_export3(d, w * 1, 1), a && r.__wbindgen_export3(a, b * 1, 1), Z;
      }
      s(), r.scopecore_set(u, this.__wbg_ptr, a, b, d, w);
      var _ = c().getInt32(u + 0, true), o = c().getInt32(u + 4, true);
      if (o) throw h(_);
    } finally {
      r.__wbindgen_add_to_stack_pointer(16);
    }
  }
};
Symbol.dispose && (k.prototype[Symbol.dispose] = k.prototype.free);
var A = class {
  static {
    __name(this, "A");
  }
  __destroy_into_raw() {
    let t = this.__wbg_ptr;
    return this.__wbg_ptr = 0, X.unregister(this), t;
  }
  free() {
    let t = this.__destroy_into_raw();
    s(), r.__wbg_sessionlock_free(t, 0);
  }
  alarm() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let t;
    return s(), t = r.sessionlock_alarm(this.__wbg_ptr), t;
  }
  connect(t) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let n;
    return s(), n = r.sessionlock_connect(this.__wbg_ptr, t), n;
  }
  fetch(t) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let n;
    return s(), n = r.sessionlock_fetch(this.__wbg_ptr, t), n;
  }
  constructor(t, n) {
    let _;
    return s(), _ = r.sessionlock_new(t, n), this.__wbg_ptr = _, Object.defineProperty(this, "__wbg_inst", { value: i, writable: true }), X.register(this, { ptr: _, instance: i }, this), this;
  }
  webSocketClose(t, n, _, o) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let u = +n, a = +o, b = m(_, r.__wbindgen_export, r.__wbindgen_export2), d = p, w;
    return s(), w = r.sessionlock_webSocketClose(this.__wbg_ptr, t, u, b, d, a), w;
  }
  webSocketError(t, n) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let _;
    return s(), _ = r.sessionlock_webSocketError(this.__wbg_ptr, t, n), _;
  }
  webSocketMessage(t, n) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let _;
    return s(), _ = r.sessionlock_webSocketMessage(this.__wbg_ptr, t, n), _;
  }
};
Symbol.dispose && (A.prototype[Symbol.dispose] = A.prototype.free);
var z = class {
  static {
    __name(this, "z");
  }
  __destroy_into_raw() {
    let t = this.__wbg_ptr;
    return this.__wbg_ptr = 0, G.unregister(this), t;
  }
  free() {
    let t = this.__destroy_into_raw();
    s(), r.__wbg_sessionscore_free(t, 0);
  }
  constructor(t, n) {
    try {
      let a = r.__wbindgen_add_to_stack_pointer(-16) >>> 0;
      s(), r.sessionscore_new(a, t, n);
      var _ = c().getInt32(a + 0, true), o = c().getInt32(a + 4, true), u = c().getInt32(a + 8, true);
      if (u) throw h(o);
      return this.__wbg_ptr = _, Object.defineProperty(this, "__wbg_inst", { value: i, writable: true }), G.register(this, { ptr: _, instance: i }, this), this;
    } finally {
      r.__wbindgen_add_to_stack_pointer(16);
    }
  }
  start(t) {
    try {
      if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
      let u = r.__wbindgen_add_to_stack_pointer(-16) >>> 0;
      s(), r.sessionscore_start(u, this.__wbg_ptr, t);
      var n = c().getInt32(u + 0, true), _ = c().getInt32(u + 4, true), o = c().getInt32(u + 8, true);
      if (o) throw h(_);
      return k.__wrap(n);
    } finally {
      r.__wbindgen_add_to_stack_pointer(16);
    }
  }
  sweep() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== i) throw new Error("Invalid stale object from previous Wasm instance");
    let t;
    return s(), t = r.sessionscore_sweep(this.__wbg_ptr), t;
  }
};
Symbol.dispose && (z.prototype[Symbol.dispose] = z.prototype.free);
function et() {
  i++, v = null, j = null, typeof F < "u" && (F = 0), typeof p < "u" && (p = 0), D = false, wasmInstance = new WebAssembly.Instance(wasmModule, __wbg_get_imports()), r = wasmInstance.exports, r.__wbindgen_start();
}
__name(et, "et");
function nt() {
  let e3;
  return s(), e3 = r.__worker_init_state(), e3;
}
__name(nt, "nt");
function rt(e3, t) {
  return Error(l(e3, t));
}
__name(rt, "rt");
function _t(e3) {
  return Number(e3);
}
__name(_t, "_t");
function it(e3, t) {
  let n = String(t), _ = m(n, r.__wbindgen_export, r.__wbindgen_export2), o = p;
  c().setInt32((e3 >>> 0) + 4, o, true), c().setInt32((e3 >>> 0) + 0, _, true);
}
__name(it, "it");
function ot(e3, t) {
  let n = t, _ = typeof n == "bigint" ? n : void 0;
  c().setBigInt64((e3 >>> 0) + 8, g(_) ? BigInt(0) : _, true), c().setInt32((e3 >>> 0) + 0, !g(_), true);
}
__name(ot, "ot");
function st(e3) {
  let t = e3, n = typeof t == "boolean" ? t : void 0;
  return g(n) ? 16777215 : n ? 1 : 0;
}
__name(st, "st");
function ct(e3, t) {
  let n = Y(t), _ = m(n, r.__wbindgen_export, r.__wbindgen_export2), o = p;
  c().setInt32((e3 >>> 0) + 4, o, true), c().setInt32((e3 >>> 0) + 0, _, true);
}
__name(ct, "ct");
function at(e3, t) {
  return e3 in t;
}
__name(at, "at");
function ut(e3) {
  return typeof e3 == "bigint";
}
__name(ut, "ut");
function ft(e3) {
  return typeof e3 == "function";
}
__name(ft, "ft");
function bt(e3) {
  return e3 === null;
}
__name(bt, "bt");
function gt(e3) {
  return e3 == null;
}
__name(gt, "gt");
function dt(e3) {
  let t = e3;
  return typeof t == "object" && t !== null;
}
__name(dt, "dt");
function wt(e3) {
  return typeof e3 == "string";
}
__name(wt, "wt");
function pt(e3) {
  return e3 === void 0;
}
__name(pt, "pt");
function lt(e3, t) {
  return e3 === t;
}
__name(lt, "lt");
function ht(e3, t) {
  return e3 == t;
}
__name(ht, "ht");
function mt(e3, t) {
  let n = t, _ = typeof n == "number" ? n : void 0;
  c().setFloat64((e3 >>> 0) + 8, g(_) ? 0 : _, true), c().setInt32((e3 >>> 0) + 0, !g(_), true);
}
__name(mt, "mt");
function yt() {
  D = true;
}
__name(yt, "yt");
function xt(e3, t) {
  let n = t, _ = typeof n == "string" ? n : void 0;
  var o = g(_) ? 0 : m(_, r.__wbindgen_export, r.__wbindgen_export2), u = p;
  c().setInt32((e3 >>> 0) + 4, u, true), c().setInt32((e3 >>> 0) + 0, o, true);
}
__name(xt, "xt");
function vt(e3, t) {
  throw new Error(l(e3, t));
}
__name(vt, "vt");
function It(e3) {
  e3._wbg_cb_unref();
}
__name(It, "It");
function kt(e3) {
  let t = e3.body;
  return g(t) ? 0 : y(t);
}
__name(kt, "kt");
function jt(e3) {
  return e3.buffer;
}
__name(jt, "jt");
function Et(e3) {
  let t = e3.byobRequest;
  return g(t) ? 0 : y(t);
}
__name(Et, "Et");
function Ft(e3) {
  return e3.byteLength;
}
__name(Ft, "Ft");
function Wt(e3) {
  return e3.byteOffset;
}
__name(Wt, "Wt");
function St() {
  return f(function(e3, t, n, _, o) {
    return e3.call(t, n, _, o);
  }, arguments);
}
__name(St, "St");
function Rt() {
  return f(function(e3, t) {
    return e3.call(t);
  }, arguments);
}
__name(Rt, "Rt");
function At() {
  return f(function(e3, t, n) {
    return e3.call(t, n);
  }, arguments);
}
__name(At, "At");
function zt() {
  return f(function(e3, t, n, _) {
    return e3.call(t, n, _);
  }, arguments);
}
__name(zt, "zt");
function Tt(e3) {
  return e3.cancel();
}
__name(Tt, "Tt");
function Ot(e3, t) {
  return e3.catch(t);
}
__name(Ot, "Ot");
function Mt(e3) {
  return e3.cause;
}
__name(Mt, "Mt");
function Ut() {
  return f(function(e3) {
    let t = e3.cf;
    return g(t) ? 0 : y(t);
  }, arguments);
}
__name(Ut, "Ut");
function qt() {
  return f(function(e3) {
    let t = e3.cf;
    return g(t) ? 0 : y(t);
  }, arguments);
}
__name(qt, "qt");
function Lt(e3, t) {
  e3.clearTimeout(t);
}
__name(Lt, "Lt");
function Nt() {
  return f(function(e3) {
    e3.close();
  }, arguments);
}
__name(Nt, "Nt");
function Bt() {
  return f(function(e3) {
    e3.close();
  }, arguments);
}
__name(Bt, "Bt");
function Ct(e3) {
  return e3.constructor;
}
__name(Ct, "Ct");
function Dt(e3) {
  console.debug(e3);
}
__name(Dt, "Dt");
function Pt() {
  return f(function(e3, t) {
    return e3.deleteAlarm(t);
  }, arguments);
}
__name(Pt, "Pt");
function Vt() {
  return f(function(e3) {
    return e3.deleteAll();
  }, arguments);
}
__name(Vt, "Vt");
function Jt() {
  return f(function(e3, t, n) {
    return e3.delete(l(t, n));
  }, arguments);
}
__name(Jt, "Jt");
function $t(e3) {
  return e3.done;
}
__name($t, "$t");
function Xt() {
  return f(function(e3, t) {
    e3.enqueue(t);
  }, arguments);
}
__name(Xt, "Xt");
function Gt(e3) {
  return Object.entries(e3);
}
__name(Gt, "Gt");
function Ht(e3, t) {
  console.error(e3, t);
}
__name(Ht, "Ht");
function Yt(e3) {
  console.error(e3);
}
__name(Yt, "Yt");
function Kt() {
  return f(function(e3, t) {
    return e3.fetch(t);
  }, arguments);
}
__name(Kt, "Kt");
function Qt() {
  return f(function(e3, t, n) {
    return e3.getByName(l(t, n));
  }, arguments);
}
__name(Qt, "Qt");
function Zt() {
  return f(function(e3, t) {
    globalThis.crypto.getRandomValues(B(e3, t));
  }, arguments);
}
__name(Zt, "Zt");
function te() {
  return f(function(e3) {
    return e3.getReader();
  }, arguments);
}
__name(te, "te");
function ee(e3) {
  return e3.getTime();
}
__name(ee, "ee");
function ne() {
  return f(function(e3, t) {
    let n = Reflect.get(e3, t);
    return g(n) ? 0 : y(n);
  }, arguments);
}
__name(ne, "ne");
function re() {
  return f(function(e3, t) {
    return Reflect.get(e3, t);
  }, arguments);
}
__name(re, "re");
function _e() {
  return f(function(e3, t, n, _) {
    let o = t.get(l(n, _));
    var u = g(o) ? 0 : m(o, r.__wbindgen_export, r.__wbindgen_export2), a = p;
    c().setInt32((e3 >>> 0) + 4, a, true), c().setInt32((e3 >>> 0) + 0, u, true);
  }, arguments);
}
__name(_e, "_e");
function ie() {
  return f(function(e3, t) {
    return Reflect.get(e3, t);
  }, arguments);
}
__name(ie, "ie");
function oe() {
  return f(function(e3, t, n) {
    return e3.get(l(t, n));
  }, arguments);
}
__name(oe, "oe");
function se(e3, t) {
  return e3[t >>> 0];
}
__name(se, "se");
function ce(e3) {
  let t = e3.done;
  return g(t) ? 16777215 : t ? 1 : 0;
}
__name(ce, "ce");
function ae(e3, t) {
  return e3[t >>> 0];
}
__name(ae, "ae");
function ue(e3) {
  return e3.value;
}
__name(ue, "ue");
function fe(e3, t) {
  return e3[t];
}
__name(fe, "fe");
function be(e3) {
  return e3.headers;
}
__name(be, "be");
function ge(e3) {
  return e3.headers;
}
__name(ge, "ge");
function de(e3) {
  return e3.instanceId;
}
__name(de, "de");
function we(e3) {
  let t;
  try {
    t = e3 instanceof ArrayBuffer;
  } catch {
    t = false;
  }
  return t;
}
__name(we, "we");
function pe(e3) {
  let t;
  try {
    t = e3 instanceof Error;
  } catch {
    t = false;
  }
  return t;
}
__name(pe, "pe");
function le(e3) {
  let t;
  try {
    t = e3 instanceof Map;
  } catch {
    t = false;
  }
  return t;
}
__name(le, "le");
function he(e3) {
  let t;
  try {
    t = e3 instanceof ReadableStream;
  } catch {
    t = false;
  }
  return t;
}
__name(he, "he");
function me(e3) {
  let t;
  try {
    t = e3 instanceof Response;
  } catch {
    t = false;
  }
  return t;
}
__name(me, "me");
function ye(e3) {
  let t;
  try {
    t = e3 instanceof Uint8Array;
  } catch {
    t = false;
  }
  return t;
}
__name(ye, "ye");
function xe(e3) {
  return Array.isArray(e3);
}
__name(xe, "xe");
function ve(e3) {
  return Number.isSafeInteger(e3);
}
__name(ve, "ve");
function Ie() {
  return Symbol.iterator;
}
__name(Ie, "Ie");
function ke(e3) {
  return e3.keys();
}
__name(ke, "ke");
function je(e3) {
  return e3.length;
}
__name(je, "je");
function Ee(e3) {
  return e3.length;
}
__name(Ee, "Ee");
function Fe(e3) {
  return e3.message;
}
__name(Fe, "Fe");
function We(e3, t) {
  let n = t.method, _ = m(n, r.__wbindgen_export, r.__wbindgen_export2), o = p;
  c().setInt32((e3 >>> 0) + 4, o, true), c().setInt32((e3 >>> 0) + 0, _, true);
}
__name(We, "We");
function Se(e3) {
  return I.__wrap(e3);
}
__name(Se, "Se");
function Re(e3) {
  return e3.name;
}
__name(Re, "Re");
function Ae(e3) {
  return e3.name;
}
__name(Ae, "Ae");
function ze() {
  return /* @__PURE__ */ new Date();
}
__name(ze, "ze");
function Te(e3) {
  return new Uint8Array(e3);
}
__name(Te, "Te");
function Oe() {
  return f(function() {
    return new Headers();
  }, arguments);
}
__name(Oe, "Oe");
function Me() {
  return new Array();
}
__name(Me, "Me");
function Ue(e3) {
  return new Date(e3);
}
__name(Ue, "Ue");
function qe() {
  return /* @__PURE__ */ new Map();
}
__name(qe, "qe");
function Le(e3, t) {
  return new Error(l(e3, t));
}
__name(Le, "Le");
function Ne() {
  return f(function(e3, t) {
    return new URL(l(e3, t));
  }, arguments);
}
__name(Ne, "Ne");
function Be() {
  return new Object();
}
__name(Be, "Be");
function Ce(e3, t) {
  try {
    var n = { a: e3, b: t }, _ = /* @__PURE__ */ __name((u, a) => {
      let b = n.a;
      n.a = 0;
      try {
        return Qn(b, n.b, u, a);
      } finally {
        n.a = b;
      }
    }, "_");
    return new Promise(_);
  } finally {
    n.a = 0;
  }
}
__name(Ce, "Ce");
function De(e3, t, n) {
  return new Uint8Array(e3, t >>> 0, n >>> 0);
}
__name(De, "De");
function Pe(e3) {
  return new Uint8Array(e3 >>> 0);
}
__name(Pe, "Pe");
function Ve() {
  return f(function(e3, t) {
    return new Response(e3, t);
  }, arguments);
}
__name(Ve, "Ve");
function Je() {
  return f(function(e3, t) {
    return new Response(e3, t);
  }, arguments);
}
__name(Je, "Je");
function $e() {
  return f(function(e3, t, n) {
    return new Response(e3 === 0 ? void 0 : l(e3, t), n);
  }, arguments);
}
__name($e, "$e");
function Xe() {
  return f(function(e3, t, n) {
    return new Request(l(e3, t), n);
  }, arguments);
}
__name(Xe, "Xe");
function Ge(e3) {
  return e3.next;
}
__name(Ge, "Ge");
function He() {
  return f(function(e3) {
    return e3.next();
  }, arguments);
}
__name(He, "He");
function Ye(e3, t) {
  let n = t.pathname, _ = m(n, r.__wbindgen_export, r.__wbindgen_export2), o = p;
  c().setInt32((e3 >>> 0) + 4, o, true), c().setInt32((e3 >>> 0) + 0, _, true);
}
__name(Ye, "Ye");
function Ke(e3, t, n) {
  Uint8Array.prototype.set.call(B(e3, t), n);
}
__name(Ke, "Ke");
function Qe() {
  return f(function(e3, t, n, _) {
    return e3.put(l(t, n), _);
  }, arguments);
}
__name(Qe, "Qe");
function Ze(e3) {
  return e3.queueMicrotask;
}
__name(Ze, "Ze");
function tn(e3) {
  queueMicrotask(e3);
}
__name(tn, "tn");
function en(e3) {
  return e3.read();
}
__name(en, "en");
function nn() {
  return f(function(e3) {
    return e3.readable;
  }, arguments);
}
__name(nn, "nn");
function rn(e3) {
  e3.releaseLock();
}
__name(rn, "rn");
function _n(e3) {
  return Promise.resolve(e3);
}
__name(_n, "_n");
function on() {
  return f(function(e3, t) {
    e3.respond(t >>> 0);
  }, arguments);
}
__name(on, "on");
function sn() {
  return f(function(e3, t, n) {
    return e3.setAlarm(t, n);
  }, arguments);
}
__name(sn, "sn");
function cn() {
  return f(function(e3, t, n) {
    return e3.setTimeout(t, n);
  }, arguments);
}
__name(cn, "cn");
function an() {
  return f(function(e3, t, n) {
    return Reflect.set(e3, t, n);
  }, arguments);
}
__name(an, "an");
function un(e3, t, n) {
  return e3.set(t, n);
}
__name(un, "un");
function fn() {
  return f(function(e3, t, n, _, o) {
    e3.set(l(t, n), l(_, o));
  }, arguments);
}
__name(fn, "fn");
function bn(e3, t) {
  e3.body = t;
}
__name(bn, "bn");
function gn(e3, t) {
  e3.cache = er[t];
}
__name(gn, "gn");
function dn(e3, t) {
  e3.criticalError = t !== 0;
}
__name(dn, "dn");
function wn(e3, t, n) {
  e3[t >>> 0] = n;
}
__name(wn, "wn");
function pn(e3, t, n) {
  e3[t] = n;
}
__name(pn, "pn");
function ln(e3, t, n) {
  e3.set(B(t, n));
}
__name(ln, "ln");
function hn(e3, t) {
  e3.headers = t;
}
__name(hn, "hn");
function mn(e3, t) {
  e3.headers = t;
}
__name(mn, "mn");
function yn(e3, t) {
  e3.instanceId = t >>> 0;
}
__name(yn, "yn");
function xn(e3, t, n) {
  e3.method = l(t, n);
}
__name(xn, "xn");
function vn(e3, t) {
  e3.redirect = nr[t];
}
__name(vn, "vn");
function In(e3, t) {
  e3.status = t;
}
__name(In, "In");
function kn() {
  let e3 = typeof globalThis > "u" ? void 0 : globalThis;
  return g(e3) ? 0 : y(e3);
}
__name(kn, "kn");
function jn() {
  let e3 = typeof global > "u" ? void 0 : global;
  return g(e3) ? 0 : y(e3);
}
__name(jn, "jn");
function En() {
  return L;
}
__name(En, "En");
function Fn() {
  let e3 = typeof self > "u" ? void 0 : self;
  return g(e3) ? 0 : y(e3);
}
__name(Fn, "Fn");
function Wn() {
  let e3 = typeof window > "u" ? void 0 : window;
  return g(e3) ? 0 : y(e3);
}
__name(Wn, "Wn");
function Sn(e3) {
  return e3.status;
}
__name(Sn, "Sn");
function Rn() {
  return f(function(e3) {
    return e3.storage;
  }, arguments);
}
__name(Rn, "Rn");
function An() {
  return f(function(e3) {
    return JSON.stringify(e3);
  }, arguments);
}
__name(An, "An");
function zn() {
  return f(function(e3) {
    return e3.text();
  }, arguments);
}
__name(zn, "zn");
function Tn(e3, t, n) {
  return e3.then(t, n);
}
__name(Tn, "Tn");
function On(e3, t) {
  return e3.then(t);
}
__name(On, "On");
function Mn(e3, t) {
  let n = t.url, _ = m(n, r.__wbindgen_export, r.__wbindgen_export2), o = p;
  c().setInt32((e3 >>> 0) + 4, o, true), c().setInt32((e3 >>> 0) + 0, _, true);
}
__name(Mn, "Mn");
function Un(e3) {
  return e3.value;
}
__name(Un, "Un");
function qn(e3) {
  let t = e3.view;
  return g(t) ? 0 : y(t);
}
__name(qn, "qn");
function Ln() {
  return f(function(e3, t) {
    e3.waitUntil(t);
  }, arguments);
}
__name(Ln, "Ln");
function Nn(e3) {
  console.warn(e3);
}
__name(Nn, "Nn");
function Bn() {
  return f(function(e3) {
    let t = e3.webSocket;
    return g(t) ? 0 : y(t);
  }, arguments);
}
__name(Bn, "Bn");
function Cn() {
  return f(function(e3) {
    return e3.writable;
  }, arguments);
}
__name(Cn, "Cn");
function Dn(e3, t) {
  return C(e3, t, Kn);
}
__name(Dn, "Dn");
function Pn(e3, t) {
  return C(e3, t, Zn);
}
__name(Pn, "Pn");
function Vn(e3, t) {
  return C(e3, t, Yn);
}
__name(Vn, "Vn");
function Jn(e3) {
  return e3;
}
__name(Jn, "Jn");
function $n(e3) {
  return e3;
}
__name($n, "$n");
function Xn(e3, t) {
  return l(e3, t);
}
__name(Xn, "Xn");
function Gn(e3) {
  return BigInt.asUintN(64, e3);
}
__name(Gn, "Gn");
function Hn() {
  let e3 = r.__wbindgen_externrefs;
  e3.set(0, void 0), e3.set(1024, void 0), e3.set(1025, null), e3.set(1026, true), e3.set(1027, false);
}
__name(Hn, "Hn");
function s() {
  if (D) {
    et();
    return;
  }
}
__name(s, "s");
function Yn(e3, t) {
  s(), r.__wasm_bindgen_func_elem_1627(e3, t);
}
__name(Yn, "Yn");
function Kn(e3, t, n) {
  s(), r.__wasm_bindgen_func_elem_2021(e3, t, n);
}
__name(Kn, "Kn");
function Qn(e3, t, n, _) {
  s(), r.__wasm_bindgen_func_elem_2923(e3, t, n, _);
}
__name(Qn, "Qn");
function Zn(e3, t, n) {
  try {
    let u = r.__wbindgen_add_to_stack_pointer(-16) >>> 0;
    s(), r.__wasm_bindgen_func_elem_2901(u, e3, t, n);
    var _ = c().getInt32(u + 0, true), o = c().getInt32(u + 4, true);
    if (o) throw h(_);
  } finally {
    r.__wbindgen_add_to_stack_pointer(16);
  }
}
__name(Zn, "Zn");
var tr = ["bytes"];
var er = ["default", "no-store", "reload", "no-cache", "force-cache", "only-if-cached"];
var nr = ["follow", "error", "manual"];
var i = 0;
var rr = typeof FinalizationRegistry > "u" ? { register: /* @__PURE__ */ __name(() => {
}, "register"), unregister: /* @__PURE__ */ __name(() => {
}, "unregister") } : new FinalizationRegistry(({ ptr: e3, instance: t }) => {
  t === i && r.__wbg_containerstartupoptions_free(e3, 1);
});
var _r = typeof FinalizationRegistry > "u" ? { register: /* @__PURE__ */ __name(() => {
}, "register"), unregister: /* @__PURE__ */ __name(() => {
}, "unregister") } : new FinalizationRegistry(({ ptr: e3, instance: t }) => {
  t === i && r.__wbg_intounderlyingbytesource_free(e3, 1);
});
var ir = typeof FinalizationRegistry > "u" ? { register: /* @__PURE__ */ __name(() => {
}, "register"), unregister: /* @__PURE__ */ __name(() => {
}, "unregister") } : new FinalizationRegistry(({ ptr: e3, instance: t }) => {
  t === i && r.__wbg_intounderlyingsink_free(e3, 1);
});
var or = typeof FinalizationRegistry > "u" ? { register: /* @__PURE__ */ __name(() => {
}, "register"), unregister: /* @__PURE__ */ __name(() => {
}, "unregister") } : new FinalizationRegistry(({ ptr: e3, instance: t }) => {
  t === i && r.__wbg_intounderlyingsource_free(e3, 1);
});
var J = typeof FinalizationRegistry > "u" ? { register: /* @__PURE__ */ __name(() => {
}, "register"), unregister: /* @__PURE__ */ __name(() => {
}, "unregister") } : new FinalizationRegistry(({ ptr: e3, instance: t }) => {
  t === i && r.__wbg_minifyconfig_free(e3, 1);
});
var sr = typeof FinalizationRegistry > "u" ? { register: /* @__PURE__ */ __name(() => {
}, "register"), unregister: /* @__PURE__ */ __name(() => {
}, "unregister") } : new FinalizationRegistry(({ ptr: e3, instance: t }) => {
  t === i && r.__wbg_r2range_free(e3, 1);
});
var $ = typeof FinalizationRegistry > "u" ? { register: /* @__PURE__ */ __name(() => {
}, "register"), unregister: /* @__PURE__ */ __name(() => {
}, "unregister") } : new FinalizationRegistry(({ ptr: e3, instance: t }) => {
  t === i && r.__wbg_scopecore_free(e3, 1);
});
var X = typeof FinalizationRegistry > "u" ? { register: /* @__PURE__ */ __name(() => {
}, "register"), unregister: /* @__PURE__ */ __name(() => {
}, "unregister") } : new FinalizationRegistry(({ ptr: e3, instance: t }) => {
  t === i && r.__wbg_sessionlock_free(e3, 1);
});
var G = typeof FinalizationRegistry > "u" ? { register: /* @__PURE__ */ __name(() => {
}, "register"), unregister: /* @__PURE__ */ __name(() => {
}, "unregister") } : new FinalizationRegistry(({ ptr: e3, instance: t }) => {
  t === i && r.__wbg_sessionscore_free(e3, 1);
});
function y(e3) {
  let t = r.__wbindgen_export4();
  return r.__wbindgen_externrefs.set(t, e3), t;
}
__name(y, "y");
var H = typeof FinalizationRegistry > "u" ? { register: /* @__PURE__ */ __name(() => {
}, "register"), unregister: /* @__PURE__ */ __name(() => {
}, "unregister") } : new FinalizationRegistry((e3) => {
  e3.instance === i && r.__wbindgen_export6(e3.a, e3.b);
});
function Y(e3) {
  switch (typeof e3) {
    case "number":
    case "boolean":
    case "undefined":
      return `${e3}`;
    case "string":
      return JSON.stringify(e3);
    case "bigint":
      return `${e3}n`;
    case "symbol":
      return e3.description !== void 0 ? `Symbol(${e3.description})` : "Symbol";
    case "function":
      return typeof e3.name == "string" && e3.name !== "" ? `Function(${e3.name})` : "Function";
    case "object": {
      if (e3 === null) return "null";
      if (Array.isArray(e3)) return "[" + Array.from(e3, Y).join(", ") + "]";
      if (e3 instanceof Error) return `${e3.name}: ${e3.message}
${e3.stack}`;
      let t = toString.call(e3), n = /\[object ([^\]]+)\]/.exec(t)?.[1];
      if (n === void 0) return t;
      if (n === "Object") try {
        return "Object(" + JSON.stringify(e3) + ")";
      } catch {
        return "Object";
      }
      return n;
    }
  }
}
__name(Y, "Y");
function K(e3, t) {
  e3 = e3 >>> 0;
  let n = c(), _ = [];
  for (let o = e3; o < e3 + 4 * t; o += 4) _.push(r.__wbindgen_externrefs.get(n.getUint32(o, true)));
  return r.__wbindgen_export7(e3, t), _;
}
__name(K, "K");
function B(e3, t) {
  return e3 = e3 >>> 0, E().subarray(e3 / 1, e3 / 1 + t);
}
__name(B, "B");
var v = null;
function c() {
  return (v === null || v.buffer.detached === true || v.buffer.detached === void 0 && v.buffer !== r.memory.buffer) && (v = new DataView(r.memory.buffer)), v;
}
__name(c, "c");
function l(e3, t) {
  return e3 = e3 >>> 0, ur(E().subarray(e3, e3 + t));
}
__name(l, "l");
var j = null;
function E() {
  return (j === null || j.byteLength === 0) && (j = new Uint8Array(r.memory.buffer)), j;
}
__name(E, "E");
function f(e3, t) {
  try {
    return e3.apply(this, t);
  } catch (n) {
    let _ = y(n);
    r.__wbindgen_export5(_);
  }
}
__name(f, "f");
function g(e3) {
  return e3 == null;
}
__name(g, "g");
function C(e3, t, n) {
  let _ = { a: e3, b: t, cnt: 1, instance: i }, o = /* @__PURE__ */ __name((...u) => {
    if (_.instance !== i) throw new Error("Cannot invoke closure from previous WASM instance");
    _.cnt++;
    let a = _.a;
    _.a = 0;
    try {
      return n(a, _.b, ...u);
    } finally {
      _.a = a, o._wbg_cb_unref();
    }
  }, "o");
  return o._wbg_cb_unref = () => {
    --_.cnt === 0 && (r.__wbindgen_export6(_.a, _.b), _.a = 0, H.unregister(_));
  }, H.register(o, _, _), o;
}
__name(C, "C");
function cr(e3, t) {
  let n = t(e3.length * 4, 4) >>> 0;
  for (let _ = 0; _ < e3.length; _++) {
    let o = y(e3[_]);
    c().setUint32(n + 4 * _, o, true);
  }
  return p = e3.length, n;
}
__name(cr, "cr");
function m(e3, t, n) {
  if (n === void 0) {
    let b = W.encode(e3), d = t(b.length, 1) >>> 0;
    return E().subarray(d, d + b.length).set(b), p = b.length, d;
  }
  let _ = e3.length, o = t(_, 1) >>> 0, u = E(), a = 0;
  for (; a < _; a++) {
    let b = e3.charCodeAt(a);
    if (b > 127) break;
    u[o + a] = b;
  }
  if (a !== _) {
    a !== 0 && (e3 = e3.slice(a)), o = n(o, _, _ = a + e3.length * 3, 1) >>> 0;
    let b = E().subarray(o + a, o + _), d = W.encodeInto(e3, b);
    a += d.written, o = n(o, _, a, 1) >>> 0;
  }
  return p = a, o;
}
__name(m, "m");
var D = false;
function h(e3) {
  let t = r.__wbindgen_externrefs.get(e3);
  return r.__wbindgen_export8(e3), t;
}
__name(h, "h");
var T = new TextDecoder("utf-8", { ignoreBOM: true });
T.decode();
var ar = 2146435072;
var F = 0;
function ur(e3) {
  return F += e3.length, F >= ar && (T = new TextDecoder("utf-8", { ignoreBOM: true }), T.decode(), F = e3.length), T.decode(e3);
}
__name(ur, "ur");
var W = new TextEncoder();
"encodeInto" in W || (W.encodeInto = function(e3, t) {
  let n = W.encode(e3);
  return t.set(n), { read: e3.length, written: n.length };
});
var p = 0;
var r;
function P(e3) {
  r = e3;
}
__name(P, "P");
var Q = new WebAssembly.Instance(fr, { "./index_bg.js": x, "./snippets/worker-64cc4b2d035528c7/inline0.js": N });
P(Q.exports);
Q.exports.__wbindgen_start?.();
var q = class extends br {
  static {
    __name(this, "q");
  }
  async fetch(t) {
    return await (void 0)(t, this.env, this.ctx);
  }
  async queue(t) {
    return await (void 0)(t, this.env, this.ctx);
  }
  async scheduled(t) {
    return await (void 0)(t, this.env, this.ctx);
  }
};
var gr = ["IntoUnderlyingByteSource", "IntoUnderlyingSink", "IntoUnderlyingSource", "MinifyConfig", "PolishConfig", "R2Range", "RequestRedirect", "fetch", "queue", "scheduled", "getMemory"];
Object.keys(x).map((e3) => {
  gr.includes(e3) | e3.startsWith("__") || (q.prototype[e3] = x[e3]);
});

// ../../js/index.js
function checkKey(key) {
  if (typeof key !== "string") throw new TypeError(`session keys must be strings, got ${typeof key}`);
}
__name(checkKey, "checkKey");
function prepare(response) {
  if (!(response instanceof Response)) {
    const got = response === null ? "null" : typeof response === "object" ? response.constructor?.name ?? "object" : typeof response;
    throw new TypeError(`the session handler must return a Response, got ${got}`);
  }
  if (response.bodyUsed) {
    throw new TypeError("the session handler returned a Response whose body was already read; return a new Response");
  }
  try {
    response.headers.append("vary", "Cookie");
    return response;
  } catch {
    const copy = response.webSocket ? new Response(null, { status: 101, webSocket: response.webSocket, headers: response.headers }) : new Response(response.body, response);
    copy.headers.append("vary", "Cookie");
    return copy;
  }
}
__name(prepare, "prepare");
var Session = class {
  static {
    __name(this, "Session");
  }
  #scope;
  constructor(scope) {
    this.#scope = scope;
  }
  /** @internal */
  get _scope() {
    return this.#scope;
  }
  get id() {
    return this.#scope.id();
  }
  get isNew() {
    return this.#scope.isNew();
  }
  get(key) {
    checkKey(key);
    const text = this.#scope.get(key);
    return text === void 0 ? void 0 : JSON.parse(text);
  }
  /** `key` now holds exactly `value`; `set(key, null)` deletes `key`. */
  set(key, value) {
    checkKey(key);
    const text = JSON.stringify(value);
    if (text === void 0) throw new TypeError(`session value for ${key} is not JSON-serializable`);
    this.#scope.set(key, text);
    return this;
  }
  delete(key) {
    checkKey(key);
    return this.#scope.remove(key);
  }
  has(key) {
    checkKey(key);
    return this.#scope.has(key);
  }
  keys() {
    return this.#scope.keys();
  }
  toJSON() {
    return JSON.parse(this.#scope.dataJson());
  }
  /** New id, same data; the old id stops working at commit. Call it after login. */
  regenerate() {
    this.#scope.regenerate();
  }
  /** Delete the data server-side and expire the cookie at commit. */
  destroy() {
    this.#scope.destroy();
  }
  /** Explicit locking: take the session's lock (FIFO) and reload the data under it. */
  acquire() {
    return this.#scope.acquire();
  }
  /** Explicit locking: save the changes made so far under the lock, then release it. */
  release() {
    return this.#scope.release();
  }
  get holdsLock() {
    return this.#scope.holdsLock();
  }
};
function errorResponse(err) {
  if (err && typeof err.status === "number" && typeof err.publicMessage === "string") {
    return new Response(err.publicMessage, { status: err.status, headers: { "cache-control": "no-store" } });
  }
  return null;
}
__name(errorResponse, "errorResponse");
var Sessions = class {
  static {
    __name(this, "Sessions");
  }
  #core;
  /**
   * @param env the worker's env: needs the SESSIONS KV binding, the SESSION_LOCKS Durable
   *   Object binding, and SESSION_SECRET (as a secret or in options).
   * @param options the worker vars' names, meanings and defaults (SESSION_TIMEOUT, ...); they
   *   override env vars. A bad value throws an Error naming it.
   */
  constructor(env, options = {}) {
    this.#core = new z(env, options);
  }
  /** Loads the request's session (locking per SESSION_LOCKING). */
  async load(request) {
    const scope = this.#core.start(request);
    await scope.load();
    return new Session(scope);
  }
  /**
   * Saves what changed, adds Set-Cookie, releases the lock; returns the response to send
   * (a copy when the given one's headers are immutable, as a redirect's are). A value that is
   * not a Response, or one whose body was already read, is a TypeError, and the lock is
   * released at once, before anything is saved.
   */
  async commit(session, response, ctx) {
    let ready;
    try {
      ready = prepare(response);
    } catch (err) {
      await this.abandon(session);
      throw err;
    }
    const setCookie = await session._scope.finish(ctx);
    if (setCookie !== void 0) {
      ready.headers.append("set-cookie", setCookie);
      ready.headers.set("cache-control", "private, no-store");
    }
    return ready;
  }
  /** Ends the request without saving, releasing the lock. */
  abandon(session) {
    return session._scope.abandon();
  }
  /**
   * Runs `handler(session)` and commits its response; on every path the lock is released.
   * Session errors become their opaque response (503 busy, 409 lease lost, ...).
   */
  async withSession(request, ctx, handler) {
    let session;
    try {
      session = await this.load(request);
    } catch (err) {
      const r2 = errorResponse(err);
      if (r2) return r2;
      throw err;
    }
    let response;
    try {
      response = await handler(session);
    } catch (err) {
      ctx.waitUntil(this.abandon(session));
      throw err;
    }
    try {
      return await this.commit(session, response, ctx);
    } catch (err) {
      const r2 = errorResponse(err);
      if (r2) return r2;
      throw err;
    }
  }
  /** One expiry sweep; call it from your scheduled handler. Resolves to a log line. */
  sweep() {
    return this.#core.sweep();
  }
};

// src/index.ts
var json = /* @__PURE__ */ __name((body, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } }), "json");
var index_default = {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/health") {
      return json({ ok: true });
    }
    if (url.pathname === "/explicit") {
      const sessions2 = new Sessions(env, { SESSION_LOCKING: "explicit" });
      return sessions2.withSession(request, ctx, async (session) => {
        await session.acquire();
        const count = (session.get("count") ?? 0) + 1;
        session.set("count", count);
        await session.release();
        return json({ count });
      });
    }
    const sessions = new Sessions(env);
    return sessions.withSession(request, ctx, async (session) => {
      switch (url.pathname) {
        case "/count": {
          const count = (session.get("count") ?? 0) + 1;
          session.set("count", count);
          return json({ count, isNew: session.isNew });
        }
        case "/whoami":
          return json({ id: session.id, user: session.get("user") ?? null, data: session.toJSON(), isNew: session.isNew });
        case "/login":
          session.regenerate();
          session.set("user", url.searchParams.get("user") ?? "guest");
          return json({ ok: true });
        case "/login-redirect":
          session.regenerate();
          session.set("user", url.searchParams.get("user") ?? "guest");
          return Response.redirect(new URL("/whoami", url).toString(), 302);
        case "/nested": {
          session.set("user", url.searchParams.get("step") === "1" ? { id: 1, role: "admin" } : { id: 2 });
          session.set("empty", {});
          return json({ data: session.toJSON() });
        }
        case "/not-a-response":
          session.set("lost", true);
          return { not: "a response" };
        case "/used-body": {
          session.set("lost", true);
          const r2 = new Response("read already");
          await r2.text();
          return r2;
        }
        case "/bad-key":
          session.set(5, 1);
          return json({ ok: true });
        case "/logout":
          session.destroy();
          return json({ ok: true });
        default:
          return json({ error: "not found" }, 404);
      }
    });
  },
  async scheduled(_event, env, ctx) {
    ctx.waitUntil(new Sessions(env).sweep().then((line) => console.log(line)));
  }
};
export {
  A as SessionLock,
  index_default as default
};
//# sourceMappingURL=index.js.map
